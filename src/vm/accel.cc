#include "vm/accel.h"

#include <fcntl.h>
#include <unistd.h>

#include "base/fd.h"
#include "base/files.h"
#include "base/strings.h"

namespace sbx::vm {

std::string_view accel_name(Accel a) {
  return a == Accel::kKvm ? "kvm" : "tcg";
}

bool cpuinfo_has_vmx_or_svm(std::string_view cpuinfo) {
  for (const auto& line : split(cpuinfo, '\n')) {
    // Only the "flags" lines count: "vmx" could appear in a model name.
    if (!starts_with(line, "flags")) continue;
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    for (const auto& flag : split(line.substr(colon + 1), ' '))
      if (flag == "vmx" || flag == "svm") return true;
  }
  return false;
}

HostProbe probe_host() {
  HostProbe p;
  Fd kvm(::open("/dev/kvm", O_RDWR | O_CLOEXEC));
  p.kvm_usable = kvm.valid();
  auto cpuinfo = read_file("/proc/cpuinfo");
  p.cpu_has_vmx_or_svm = cpuinfo.ok() && cpuinfo_has_vmx_or_svm(*cpuinfo);
  return p;
}

Result<Accel> choose_accel(std::string_view requested,
                           const HostProbe& probe) {
  std::string r = to_lower(trim(requested));
  if (r.empty() || r == "auto")
    return probe.kvm_usable && probe.cpu_has_vmx_or_svm ? Accel::kKvm
                                                        : Accel::kTcg;
  if (r == "tcg") return Accel::kTcg;
  if (r == "kvm") {
    if (!probe.kvm_usable)
      return err(
          "accelerator 'kvm' requested but /dev/kvm cannot be opened "
          "read-write (missing, or no permission: is the user in group "
          "'kvm'?); use --accel tcg or SBX_ACCEL=tcg");
    return Accel::kKvm;
  }
  return err("unknown accelerator '" + std::string(requested) +
             "': valid values are auto, kvm, tcg");
}

}  // namespace sbx::vm
