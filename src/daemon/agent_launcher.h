// Test seam: a Launcher whose "VM" is a local sbx-agent in its --serve-fd
// test mode, so SandboxManager's state machine runs without QEMU. Tests
// steer it: make the next boot fail, give the console some text, let
// recover() find the guest again or not, kill a guest. Its guests die with
// their GuestVm (a real VM outlives it). Not part of sandboxd.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "base/child_process.h"
#include "base/log.h"
#include "base/paths.h"
#include "daemon/agent_link.h"
#include "daemon/launcher.h"

namespace sbx::daemon::testing {

/// A local `sbx-agent --serve-fd` (it dies with the test) and the daemon's
/// handshaken link to it: the guest of every unit test that runs something
/// over a link.
struct LocalAgent {
  ChildProcess process;
  std::shared_ptr<AgentLink> link;
};
/// Starts one. `junk` is written to the link before the handshake (a stale
/// tail the link must resynchronise past).
Result<LocalAgent> start_local_agent(const std::string& agent_path, Logger& log,
                                     std::string_view junk = {});
/// Closes `link` and reaps `process` (SIGKILL if it lingers 5 s).
void stop_local_agent(ChildProcess& process, std::shared_ptr<AgentLink>& link);

class AgentLauncher : public Launcher {
 public:
  AgentLauncher(Paths paths, std::string agent_path, Logger& log)
      : paths_(std::move(paths)), agent_path_(std::move(agent_path)), log_(log) {}

  /// Makes the sandbox directory (no disks); the template id is kTemplate.
  Result<std::string> create(const std::string& name, uint64_t disk_bytes, uint64_t docker_bytes,
                             const DiskSource& source) override;
  Result<void> remove(const std::string& name) override;
  uint64_t disk_usage(const std::string& name) override;
  /// Starts an agent and connects to it, or (fail_boots) fails after
  /// hooks.starting with the console text in the error.
  Result<LiveGuest> boot(const SandboxRecord& rec, const BootHooks& hooks) override;
  /// For a sandbox set_adoptable() names: starts a fresh agent as the
  /// guest that survived the daemon.
  Result<LiveGuest> adopt(const SandboxRecord& rec) override;
  void release(const std::string& name) override;
  std::string current_template() override { return ""; }

  static constexpr const char* kTemplate = "0123456789abcdef-test-template";

  /// What every guest's console_tail() returns (raw bytes, as a guest's).
  void set_console(std::string text);
  /// Whether boots fail (after hooks.starting, like a guest that never
  /// answers).
  void set_fail_boots(bool fail) { fail_boots_ = fail; }
  /// The sandboxes whose guest adopt() finds (none by default).
  void set_adoptable(std::set<std::string> names) { adoptable_ = std::move(names); }
  /// The pid of `name`'s latest guest (0: none started).
  pid_t guest_pid(const std::string& name);
  int boots() const { return boots_; }

 private:
  Result<LiveGuest> spawn(const std::string& name);

  Paths paths_;
  std::string agent_path_;
  Logger& log_;
  std::mutex mu_;
  std::shared_ptr<std::string> console_ = std::make_shared<std::string>();
  std::map<std::string, pid_t> pids_;
  bool fail_boots_ = false;
  std::set<std::string> adoptable_;
  int boots_ = 0;
};

}  // namespace sbx::daemon::testing
