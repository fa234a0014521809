// One running sandbox VM: QEMU, plus virtiofsd when the workspace uses
// virtio-fs.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>

#include "base/fd.h"
#include "base/log.h"
#include "base/result.h"
#include "vm/jail.h"
#include "vm/vm_config.h"

namespace sbx::vm {

/// Owns the handles to one VM's processes.
///
/// Lifetime: destroying a VmProcess does NOT stop the VM. A sandbox outlives
/// sandboxd (restarts, upgrades): the daemon records pid() and
/// virtiofsd_pid() and later calls adopt(). Stopping is always explicit,
/// through kill() (or a guest poweroff / QMP quit). The destructor only
/// closes the process descriptors (pidfds) this object holds.
class VmProcess {
 public:
  /// virtiofsd shipped with Debian's QEMU 7.2.
  static constexpr const char* kVirtiofsd = "/usr/lib/qemu/virtiofsd";

  /// Starts the VM: virtiofsd first when configured (waiting for its
  /// socket), then QEMU in its own session with the jail applied. QEMU's
  /// stdout/stderr go to cfg.qemu_log(), virtiofsd's to virtiofsd.log beside
  /// it. Fails, quoting the log's tail, if QEMU exits during startup.
  static Result<VmProcess> start(const VmConfig& cfg, Logger& log,
                                 const JailOptions& jail = {});

  /// Re-attaches to a VM started earlier (possibly by another sandboxd).
  /// Verifies through /proc/PID/cmdline that `qemu_pid` is a qemu-system
  /// process listening on this config's QMP socket and, if
  /// `virtiofsd_pid` > 0, that it is a virtiofsd serving its socket.
  static Result<VmProcess> adopt(pid_t qemu_pid, pid_t virtiofsd_pid,
                                 const VmConfig& cfg);

  VmProcess(VmProcess&&) noexcept = default;
  VmProcess& operator=(VmProcess&&) noexcept = default;
  /// Closes handles only; the VM keeps running (see the class comment).
  ~VmProcess() = default;

  pid_t pid() const { return qemu_.pid; }
  /// 0 when there is no virtiofsd.
  pid_t virtiofsd_pid() const { return virtiofsd_.pid; }
  const VmConfig& config() const { return cfg_; }

  /// Whether QEMU is still running. Reaps it (and virtiofsd) if it was our
  /// child and has exited; a zombie counts as not alive.
  bool alive();
  /// SIGKILLs QEMU, then virtiofsd, and waits until both are gone (reaping
  /// our own children). Succeeds if they were already gone.
  Result<void> kill();
  /// Waits up to `timeout` for QEMU to exit: true if it has.
  Result<bool> wait_exit(std::chrono::milliseconds timeout);

  /// The last `lines` lines of the guest serial console.
  std::string console_tail(size_t lines) const;
  /// The last `lines` lines of QEMU's own stderr (qemu.log).
  std::string qemu_log_tail(size_t lines) const;

 private:
  /// One process, pinned by a pidfd so pid reuse cannot fool us.
  struct Proc {
    pid_t pid = 0;
    Fd pidfd;
    bool exited = false;
    Proc() = default;
    // A moved-from Proc names no process (so it cannot be waited on or
    // signalled through a stale pid).
    Proc(Proc&& o) noexcept
        : pid(std::exchange(o.pid, 0)),
          pidfd(std::move(o.pidfd)),
          exited(o.exited) {}
    Proc& operator=(Proc&& o) noexcept {
      pid = std::exchange(o.pid, 0);
      pidfd = std::move(o.pidfd);
      exited = o.exited;
      return *this;
    }
  };

  explicit VmProcess(VmConfig cfg) : cfg_(std::move(cfg)) {}
  /// Polls (up to `timeout`) for the process's exit, reaping it if it is our
  /// child. Returns true if it has exited.
  static Result<bool> wait_proc(Proc& p, std::chrono::milliseconds timeout);
  static Result<void> kill_proc(Proc& p);

  VmConfig cfg_;
  Proc qemu_;
  Proc virtiofsd_;
};

/// The last `lines` lines of a text file (reads at most its last 256 KiB);
/// empty when it cannot be read.
std::string file_tail(const std::string& path, size_t lines);

}  // namespace sbx::vm
