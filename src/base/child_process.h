// RAII owner of a child process: spawn, wait, signal. The destructor kills
// and reaps a child that is still running, unless it was detached.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/fd.h"
#include "base/result.h"

namespace sbx {

/// How to start a child process.
struct SpawnOptions {
  std::vector<std::string> argv;
  /// Full environment; when empty the parent's environment is inherited.
  std::optional<std::vector<std::string>> env;
  std::string cwd;
  /// Redirections: -1 keeps the parent's descriptor.
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
  /// Start a new session (setsid) so the child outlives our process group.
  bool new_session = false;
  /// Deliver SIGKILL to the child when this process dies (PR_SET_PDEATHSIG).
  bool die_with_parent = false;
};

/// How a process ended.
struct ExitStatus {
  bool exited = false;  ///< true: normal exit with `code`; false: `signal`.
  int code = 0;
  int signal = 0;
  /// Shell-style code: the exit code, or 128+signal.
  int shell_code() const { return exited ? code : 128 + signal; }
  std::string describe() const;
};

/// A spawned child. Movable; kills and reaps on destruction unless detached.
class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ChildProcess(ChildProcess&& o) noexcept;
  ChildProcess& operator=(ChildProcess&& o) noexcept;
  ~ChildProcess();

  /// Starts a child. Fails (with the exec error) if the program cannot run.
  static Result<ChildProcess> spawn(const SpawnOptions& opts);

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0 && !status_; }
  /// Blocks until the child exits.
  Result<ExitStatus> wait();
  /// Waits up to `timeout`; returns nullopt if still running.
  Result<std::optional<ExitStatus>> wait_for(std::chrono::milliseconds timeout);
  /// Non-blocking check.
  Result<std::optional<ExitStatus>> poll();
  /// Sends a signal (no-op if already reaped).
  Result<void> kill(int sig);
  /// Forgets the child: it keeps running and is not reaped by us.
  pid_t detach();

 private:
  pid_t pid_ = -1;
  std::optional<ExitStatus> status_;
};

/// Runs a command to completion, capturing stdout and stderr together.
struct CommandOutput {
  ExitStatus status;
  std::string output;
};
Result<CommandOutput> run_command(const std::vector<std::string>& argv,
                                  const std::string& cwd = "");
/// Runs a command and fails, quoting its output's tail, unless it exits 0.
Result<std::string> run_checked(const std::vector<std::string>& argv,
                                const std::string& cwd = "");

/// Whether a process with this pid exists (it may be a zombie).
bool process_exists(pid_t pid);
/// Looks `prog` up in PATH; empty if not found.
std::string find_program(const std::string& prog);

}  // namespace sbx
