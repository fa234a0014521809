// Which QEMU accelerator a VM uses, and how we decide it.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace sbx::vm {

/// A QEMU accelerator.
enum class Accel { kKvm, kTcg };

/// The QEMU spelling: "kvm" or "tcg".
std::string_view accel_name(Accel a);

/// What the host offers for hardware virtualisation.
struct HostProbe {
  /// /dev/kvm opens read-write.
  bool kvm_usable = false;
  /// /proc/cpuinfo advertises vmx or svm. A paravirtual nested KVM (PVM) can
  /// expose a working /dev/kvm without these flags; stock guest kernels crawl
  /// under it, so auto-detection treats their absence as "no KVM".
  bool cpu_has_vmx_or_svm = false;
};

/// Probes /dev/kvm and /proc/cpuinfo.
HostProbe probe_host();

/// Whether a /proc/cpuinfo text lists the vmx or svm flag.
bool cpuinfo_has_vmx_or_svm(std::string_view cpuinfo);

/// Chooses the accelerator. `requested` comes from --accel or SBX_ACCEL:
/// "" or "auto" picks KVM only when both probe fields are true, else TCG;
/// "kvm" fails unless /dev/kvm is usable; "tcg" always succeeds.
Result<Accel> choose_accel(std::string_view requested, const HostProbe& probe);

}  // namespace sbx::vm
