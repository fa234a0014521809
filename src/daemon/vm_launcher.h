// The QEMU launcher: a sandbox's disks, the guest artefacts (kernel,
// initramfs, template), the VM's configuration and kernel command line, and
// booting it (with one restart of a boot that stays silent) until its agent
// answers.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "base/log.h"
#include "daemon/daemon_config.h"
#include "daemon/launcher.h"
#include "vm/accel.h"
#include "vm/vm_config.h"

namespace sbx::daemon {

/// Encodes a path for the kernel command line (no spaces; %XX escapes).
std::string cmdline_escape(std::string_view path);

class VmLauncher : public Launcher {
 public:
  /// The cached guest artefacts every sandbox boots from.
  struct Artifacts {
    std::string kernel, initrd, template_image, template_id;
    uint64_t tsc_khz = 0;  ///< the host's, passed to the guest
  };

  VmLauncher(DaemonConfig cfg, Logger& log) : cfg_(std::move(cfg)), log_(log) {}

  Result<std::string> create(const std::string& name, uint64_t disk_bytes,
                             uint64_t docker_bytes, const DiskSource& source) override;
  Result<void> remove(const std::string& name) override;
  uint64_t disk_usage(const std::string& name) override;
  Result<LiveGuest> boot(const SandboxRecord& rec, const BootHooks& hooks) override;
  Result<LiveGuest> adopt(const SandboxRecord& rec) override;
  void release(const std::string& name) override;
  std::string current_template() override;

  /// The QEMU configuration of `rec`'s VM: its paths, devices and kernel
  /// command line.
  vm::VmConfig vm_config(const SandboxRecord& rec, const Artifacts& art, vm::Accel accel) const;

 private:
  /// Builds or finds the artefacts once per daemon; stage lines go to the
  /// log and to `progress`.
  Result<Artifacts> prepare_artifacts(const std::function<void(const std::string&)>& progress = nullptr);

  DaemonConfig cfg_;
  Logger& log_;
  std::mutex artifacts_mu_;
  std::optional<Artifacts> artifacts_;
};

}  // namespace sbx::daemon
