// Where sbx keeps things, following the XDG base directory spec.
#pragma once

#include <string>

#include "base/result.h"

namespace sbx {

/// The directories one user's sbx uses. Computed once from the environment.
struct Paths {
  std::string runtime;  ///< sockets, pid file: 0700, $XDG_RUNTIME_DIR/sbx
  std::string state;    ///< database, sandboxes' disks, logs
  std::string cache;    ///< kernels, templates: rebuildable, keyed by inputs
  std::string config;   ///< user settings

  /// Reads SBX_*_DIR overrides, then XDG_* variables, then the defaults.
  static Result<Paths> from_environment();
  /// Creates the directories (runtime with mode 0700, verified).
  Result<void> ensure() const;

  std::string socket() const { return runtime + "/sandboxd.sock"; }
  std::string pid_file() const { return runtime + "/sandboxd.pid"; }
  /// Held (flock) by the running daemon for its whole life, until exit.
  std::string lock_file() const { return runtime + "/sandboxd.lock"; }
  std::string database() const { return state + "/sbx.db"; }
  std::string daemon_log() const { return state + "/sandboxd.log"; }
  std::string sandboxes_dir() const { return state + "/sandboxes"; }
};

/// The current user's home directory.
std::string home_dir();

}  // namespace sbx
