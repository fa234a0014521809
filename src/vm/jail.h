// Starting a VMM process with reduced privileges.
//
// QEMU and virtiofsd parse guest-controlled data, so they get what the kernel
// offers cheaply and reliably: no_new_privs (no setuid gain, a precondition
// for QEMU's own seccomp filter), no core dumps (guest memory would land on
// disk), a bounded descriptor table, no inherited descriptors beyond stdio,
// and their own session so they outlive sandboxd.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"

namespace sbx::vm {

/// What spawn_jailed() applies in the child before exec.
struct JailOptions {
  /// PR_SET_NO_NEW_PRIVS.
  bool no_new_privs = true;
  /// RLIMIT_CORE = 0.
  bool no_core_dumps = true;
  /// RLIMIT_NOFILE (soft and hard); 0 leaves it unchanged.
  uint64_t max_open_files = 4096;
  /// setsid(): detach from our session so the VM survives sandboxd.
  bool new_session = true;
  /// unshare(CLONE_NEWNS) and make every mount private, so mounts made by or
  /// for the child never propagate back. Needs CAP_SYS_ADMIN; fails the spawn
  /// when unavailable.
  bool private_mount_namespace = false;
  /// unshare(CLONE_NEWNET): an empty network namespace (loopback down), so a
  /// compromised VMM reaches no network at all. Pathname unix sockets (QMP,
  /// agent, virtiofsd) still work. Needs CAP_SYS_ADMIN.
  bool private_network_namespace = false;
  /// Drops from the capability bounding set what a VMM never needs (mknod,
  /// mounts, modules, raw I/O, ptrace, network admin, ...), so that a root
  /// QEMU compromised by its guest, or a guest driving its 9p server, cannot
  /// create device nodes on the host. No effect for an unprivileged user.
  bool drop_capabilities = true;
};

/// Forks and execs `argv` with stdin from /dev/null and stdout/stderr to
/// `log_fd`; every other descriptor is closed in the child. Returns the
/// child's pid (ours to reap). Fails with the child's errno if the jail
/// setup or exec fails.
Result<pid_t> spawn_jailed(const std::vector<std::string>& argv, int log_fd,
                           const JailOptions& opts);

}  // namespace sbx::vm
