#include "daemon/kit_catalog.h"

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

}  // namespace sbx::daemon
