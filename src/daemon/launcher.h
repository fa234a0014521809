// The seam between the sandbox state machine and the VMs: a Launcher turns
// a sandbox record into a running guest with a live agent link, and owns
// the sandbox's files. sandboxd uses VmLauncher (QEMU); tests use a launcher
// whose guest is a local sbx-agent, so the state machine runs without QEMU.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "base/result.h"
#include "daemon/agent_link.h"
#include "daemon/store.h"

namespace sbx::daemon {

/// One running guest as the state machine sees it (a QEMU process, or a
/// stand-in in tests). The destructor leaves it running: stopping is
/// always explicit, so a daemon restart can adopt it.
class GuestVm {
 public:
  virtual ~GuestVm() = default;
  virtual bool alive() = 0;
  /// Kills the guest at once and waits for it.
  virtual Result<void> kill() = 0;
  /// Waits up to `timeout` for the guest to exit by itself (true: it did).
  virtual Result<bool> wait_exit(std::chrono::milliseconds timeout) = 0;
  /// The last `lines` of the guest console, as the guest wrote them
  /// (untrusted bytes: see console_error()).
  virtual std::string console_tail(size_t lines) = 0;
  virtual int64_t pid() const = 0;
  virtual int64_t virtiofsd_pid() const = 0;
};

/// A guest whose agent answered.
struct LiveGuest {
  std::unique_ptr<GuestVm> vm;
  std::shared_ptr<AgentLink> link;
};

/// `message` followed by the console tail, made valid UTF-8: the guest may
/// write any bytes to its console, and this text is stored and sent as JSON.
std::string console_error(const std::string& message, const std::string& tail);

class Launcher {
 public:
  /// Called by boot() once it will really start a guest (every check that
  /// needs no guest passed), and with the guest's pids once it runs.
  struct BootHooks {
    std::function<void()> starting;
    std::function<void(int64_t pid, int64_t virtiofsd_pid)> started;
  };

  /// What a new sandbox's disk is layered on, and who hears about a build.
  struct DiskSource {
    std::string template_tag;  ///< empty or "shell": the base template
    std::function<void(const std::string&)> progress;  ///< stage lines of builds
  };

  virtual ~Launcher() = default;
  /// Makes the files of a new sandbox (its disks); returns the id of the
  /// template its disk is layered on. Leaves nothing behind on failure.
  virtual Result<std::string> create(const std::string& name, uint64_t disk_bytes,
                                     uint64_t docker_bytes, const DiskSource& source) = 0;
  /// Deletes every file of a sandbox (disks, console log, runtime files).
  virtual Result<void> remove(const std::string& name) = 0;
  /// Bytes the sandbox's files occupy on the host.
  virtual uint64_t disk_usage(const std::string& name) = 0;
  /// Boots `rec`'s guest and connects to its agent. An error before
  /// hooks.starting ran changed nothing; after it, the guest is gone again
  /// and the error text is what the record's last_error should say.
  virtual Result<LiveGuest> boot(const SandboxRecord& rec, const BootHooks& hooks) = 0;
  /// Takes over the guest an earlier daemon left running (rec's pids) and
  /// reconnects to its agent; on failure the guest is killed.
  virtual Result<LiveGuest> adopt(const SandboxRecord& rec) = 0;
  /// Drops the per-boot files of a guest that is gone.
  virtual void release(const std::string& name) = 0;
  /// The template new sandboxes are layered on, "" until it is known.
  virtual std::string current_template() = 0;
};

}  // namespace sbx::daemon
