// Starting a command for an OPEN request: user switch, login environment,
// pipes or a pty, and synchronous detection of exec failures.
#pragma once

#include <sys/types.h>

#include <string>
#include <variant>
#include <vector>

#include "base/fd.h"
#include "proto/messages.h"

namespace sbx::agent {

/// A started command. The child leads its own session (pgid == pid).
struct SpawnedExec {
  pid_t pid = -1;
  Fd stdin_fd;   ///< non-tty: write end of the child's stdin (non-blocking)
  Fd stdout_fd;  ///< non-tty: read end of stdout (non-blocking)
  Fd stderr_fd;  ///< non-tty: read end of stderr (non-blocking)
  Fd pty;        ///< tty: the pty master (non-blocking), both directions
};

/// Where the spawner finds the user database (tests point it elsewhere).
struct SpawnerConfig {
  std::string passwd_path = "/etc/passwd";
  std::string group_path = "/etc/group";
  /// KEY=VALUE entries added to every login environment (the egress proxy
  /// variables); a request's own env entries still replace them.
  std::vector<std::string> login_env;
};

/// Starts commands on behalf of the link server.
class ExecSpawner {
 public:
  explicit ExecSpawner(SpawnerConfig cfg = {}) : cfg_(std::move(cfg)) {}

  /// Starts `req`. On failure returns an OpenFailure whose code follows
  /// docker exec: 127 program not found, 126 not executable or the working
  /// directory cannot be entered, 125 anything else (unknown user, ...).
  /// Detached requests get /dev/null for all three streams and no fds back.
  std::variant<SpawnedExec, proto::OpenFailure> spawn(const proto::ExecRequest& req) const;

 private:
  SpawnerConfig cfg_;
};

}  // namespace sbx::agent
