#include "daemon/kit_catalog.h"

#include <algorithm>

#include "kit/install_script.h"

namespace sbx::daemon {

std::optional<kit::Kit> builtin_kit(const std::string& name, bool test_kits) {
  if (name == "shell") {
    kit::Kit k;
    k.name = "shell";
    k.kind = "agent";
    k.description = "A login shell in the base Debian template";
    return k;
  }
  if (test_kits && name == "sbx-test") {
    kit::Kit k;
    k.name = "sbx-test";
    k.kind = "agent";
    k.description = "Test kit: installs a tiny Debian package it builds itself";
    k.parent = "shell";
    k.install = {
        "mkdir -p /tmp/sbxt/DEBIAN /tmp/sbxt/usr/local/bin",
        "printf 'Package: sbx-test-tool\\nVersion: 1.0\\nArchitecture: all\\n"
        "Maintainer: sbx <sbx@example.invalid>\\nDescription: sbx test kit tool\\n' "
        "> /tmp/sbxt/DEBIAN/control",
        "printf '#!/bin/sh\\necho \"sbx-test-tool 1.0 $*\"\\n' > "
        "/tmp/sbxt/usr/local/bin/sbx-test-tool",
        "chmod 0755 /tmp/sbxt/usr/local/bin/sbx-test-tool",
        "dpkg-deb --build /tmp/sbxt /tmp/sbx-test-tool.deb && dpkg -i /tmp/sbx-test-tool.deb",
        "rm -rf /tmp/sbxt /tmp/sbx-test-tool.deb"};
    k.env = {{"SBX_TEST_KIT", "1"}};
    k.entry = {"sbx-test-tool", "--entry"};
    k.files = {{"~/.sbx-test-kit", "from the kit\n", 0644}};
    k.source = "(built in, SBX_TEST_KITS=1)";
    return k;
  }
  return std::nullopt;
}

std::vector<std::string> builtin_kit_names(bool test_kits) {
  std::vector<std::string> out = {"shell"};
  if (test_kits) out.push_back("sbx-test");
  return out;
}

// The build runs each install step with `sh -ec`; the whole script (bash,
// pipefail) goes in as one step on a here-document.
std::optional<kit::Kit> with_install_script(kit::Kit k) {
  if (k.node.empty()) return k;
  auto script = kit::install_script(k);
  if (!script) return std::nullopt;  // the parser refuses unknown pins already
  k.install = {"bash <<'SBX_KIT_INSTALL'\n" + *script + "\nSBX_KIT_INSTALL"};
  return k;
}

KitLookup make_kit_lookup(std::shared_ptr<const kit::KitCatalog> catalog, bool test_kits) {
  return [catalog = std::move(catalog), test_kits](const std::string& name) {
    if (catalog)
      if (const kit::Kit* k = catalog->find(name)) return with_install_script(*k);
    return builtin_kit(name, test_kits);
  };
}

std::vector<std::string> kit_names(const kit::KitCatalog* catalog, bool test_kits) {
  std::vector<std::string> out = builtin_kit_names(test_kits);
  if (catalog)
    for (auto& n : catalog->names()) out.push_back(n);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace sbx::daemon
