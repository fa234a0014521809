#include "kit/install_script.h"

#include "base/strings.h"
#include "kit/node_runtime.h"

namespace sbx::kit {

Result<std::string> install_script(const Kit& k) {
  if (k.node.empty() && k.install.empty()) return std::string();
  std::string s =
      "#!/bin/bash\n# Installs kit '" + k.name + "' (written by sbx).\nset -euo pipefail\n";
  size_t total = k.install.size() + (k.node.empty() ? 0 : 1);
  size_t n = 0;
  auto announce = [&](const std::string& what) {
    ++n;
    // printf with %s: the step's text is data, never a format.
    s += "printf 'sbx: step %s/%s: %s\\n' " + std::to_string(n) + " " + std::to_string(total) +
         " " + shell_quote(what) + "\n";
  };
  if (!k.node.empty()) {
    const NodeRuntime* rt = find_node_runtime(k.node);
    if (!rt)
      return err(kBadRequest, "kit '" + k.name + "': no pinned Node.js " + k.node +
                                  "; known: " + join(known_node_versions(), ", "));
    announce("install Node.js " + rt->version + " and npm " + rt->npm_version);
    s += "(\n" + node_install_script(*rt) + ")\n";
  }
  for (auto& step : k.install) {
    announce(step);
    // Each step in its own subshell: a `cd` or `set +e` stays inside it.
    s += "(\n" + step + "\n)\n";
  }
  return s;
}

}  // namespace sbx::kit
