// Everything needed to start one sandbox's QEMU: the input of qemu_argv().
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/result.h"
#include "vm/accel.h"

namespace sbx::vm {

/// The host directory shared with the guest.
struct Workspace {
  /// How the directory is shared.
  enum class Fs { k9p, kVirtiofs };

  /// Absolute host path; the guest mounts it at the same path.
  std::string host_path;
  /// The mount tag the guest asks for.
  std::string tag = "ws";
  Fs fs = Fs::k9p;
  /// virtiofsd's vhost-user socket (virtio-fs only).
  std::string virtiofsd_socket;
};

/// One VM's static configuration. Paths should be absolute: QEMU runs with
/// its working directory at "/".
struct VmConfig {
  /// Shown by `ps` and in QEMU's messages (-name); optional.
  std::string name;
  std::string qemu_binary = "qemu-system-x86_64";
  Accel accel = Accel::kTcg;
  /// QEMU -cpu model; empty picks "host" under KVM and "max" under TCG.
  std::string cpu_model;
  int cpus = 1;
  uint64_t memory_mib = 512;

  /// Uncompressed vmlinux (PVH entry), initramfs, and extra kernel arguments;
  /// qemu_argv() prepends console=ttyS0 panic=-1 quiet tsc_early_khz=.
  std::string kernel;
  std::string initrd;
  std::string cmdline;
  /// Host TSC frequency (host_tsc_khz()); 0 leaves calibration to the guest.
  uint64_t tsc_khz = 0;

  /// Root disk: a qcow2 overlay.
  std::string disk;
  /// Optional second disk (raw, sparse): the private dockerd's volume. The
  /// guest sees it after the root disk (/dev/vdb).
  std::string data_disk;
  std::optional<Workspace> workspace;

  /// Host-side unix sockets QEMU listens on.
  std::string agent_socket;
  std::string qmp_socket;
  /// Guest serial console output; qemu.log (QEMU's own stderr) sits beside it.
  std::string console_log;
  std::string pid_file;

  /// Enables QEMU's own seccomp filter (-sandbox on,...).
  bool seccomp = true;

  /// Checks the fields qemu_argv() relies on (non-empty paths, sane sizes).
  Result<void> validate() const;
  /// Directory of console_log + "/qemu.log".
  std::string qemu_log() const;
};

}  // namespace sbx::vm
