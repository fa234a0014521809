// Where one sandbox's files live: its disks and console log under the state
// directory, its sockets under the runtime directory. The only place that
// spells these paths.
#pragma once

#include <string>

#include "base/paths.h"

namespace sbx::daemon {

struct SandboxPaths {
  /// The paths of sandbox `name` under the daemon's `paths`.
  SandboxPaths(const Paths& paths, const std::string& name);

  std::string dir;          ///< persistent: disks and console log
  std::string disk;         ///< qcow2 overlay on the template
  std::string docker_disk;  ///< the private dockerd's sparse volume
  std::string console_log;  ///< the guest console, truncated per boot
  /// The create request of a sandbox created without starting, kept until
  /// its first start provisions the guest (CAs, kit files, host_config).
  std::string pending_provision;
  std::string runtime;      ///< per-boot: sockets and pid file
  std::string agent_socket;
  std::string qmp_socket;
  std::string pid_file;
  std::string virtiofs_socket;
};

}  // namespace sbx::daemon
