// The guest's boot parameters, parsed from /proc/cmdline. Pure: no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sbx::agent {

/// What the host asked for on the kernel command line (sbx.* keys).
struct BootConfig {
  std::string name;                ///< sbx.name: hostname
  std::string root = "/dev/vda";   ///< sbx.root: root block device
  std::string ws_path;             ///< sbx.ws_path: absolute, decoded
  std::string ws_tag;              ///< sbx.ws_tag: 9p mount tag / virtiofs tag
  std::string ws_fs = "9p";        ///< sbx.ws_fs: "9p" or "virtiofs"
  std::optional<uint32_t> uid;     ///< sbx.uid: host user's uid
  std::optional<uint32_t> gid;     ///< sbx.gid: host user's gid
  /// sbx.docker_disk: block device for /var/lib/docker; empty: use the root
  /// disk's directory.
  std::string docker_disk;
  /// sbx.docker: "boot" (start dockerd at boot) or "socket" (on first use).
  std::string docker_mode = "boot";
  /// sbx.proxy: http://127.0.0.1:PORT handed to dockerd as HTTP(S)_PROXY.
  std::string proxy;

  /// True when a workspace should be mounted (path and tag both given).
  bool has_workspace() const { return !ws_path.empty() && !ws_tag.empty(); }
};

/// Decodes %XX escapes. nullopt on a truncated or non-hex escape, or one that
/// decodes to NUL.
std::optional<std::string> percent_decode(std::string_view s);

/// Parses a kernel command line. Unknown words are ignored; invalid sbx.*
/// values are dropped (keeping the default) and described in `warnings`, so a
/// bad parameter never stops the boot.
BootConfig parse_boot_config(std::string_view cmdline,
                             std::vector<std::string>* warnings = nullptr);

}  // namespace sbx::agent
