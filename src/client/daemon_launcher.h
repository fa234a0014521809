// Starts sandboxd on demand, the way `docker` users expect `sbx` to just
// work: if nothing listens on the socket, launch the daemon detached and wait
// until it answers GET /v1/version.
#pragma once

#include <chrono>
#include <string>

#include "base/paths.h"
#include "base/result.h"
#include "client/api_client.h"

namespace sbx::client {

/// How to find and wait for the daemon.
struct LaunchOptions {
  /// The sandboxd binary. Empty: $SBX_DAEMON, else `sandboxd` next to sbx.
  std::string daemon_path;
  /// How long to wait for the first answer.
  std::chrono::milliseconds ready_timeout{15000};
  /// After our daemon process exits (e.g. it lost the start race to another
  /// `sbx`), keep polling this long for the winner before giving up.
  std::chrono::milliseconds exit_grace{3000};
};

/// The daemon binary to launch: $SBX_DAEMON when set, else `sandboxd` next
/// to the running executable (or in ../daemon/, the build tree's layout),
/// else from PATH.
Result<std::string> daemon_binary();

/// Makes sure a daemon answers on client's socket, starting one when the
/// socket is missing or refuses connections. Returns true if it started one.
Result<bool> ensure_daemon(ApiClient& client, const Paths& paths,
                           const LaunchOptions& opts = {});

/// Waits until no daemon process holds paths.lock_file(): the daemon has
/// exited, so its published ports and agent links are closed. False on
/// timeout.
bool wait_daemon_exited(const Paths& paths, std::chrono::milliseconds timeout);

}  // namespace sbx::client
