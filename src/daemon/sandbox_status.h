// A sandbox's lifecycle state. The daemon works with the enum; the names
// appear only where a status is stored (the database) or sent (the API).
#pragma once

#include <string>
#include <string_view>

namespace sbx::daemon {

enum class SandboxStatus {
  kStopped,   ///< no VM; created sandboxes start here
  kStarting,  ///< a VM is booting and its agent has not answered yet
  kRunning,   ///< a VM runs and its agent link is up
  kStopping,  ///< the VM is being shut down
  kFailed,    ///< the VM failed to boot or died; last_error says why
};

/// The stored and API name: "stopped", "starting", ...
std::string_view status_name(SandboxStatus s);
/// Parses a stored name. Names this version does not know (from a newer
/// daemon, or the old "created") read as kStopped: nothing to adopt.
SandboxStatus parse_status(std::string_view name);
/// Whether a VM may exist for a sandbox in this state (recover() adopts,
/// stop() shuts down, rm needs --force).
bool is_active(SandboxStatus s);

}  // namespace sbx::daemon
