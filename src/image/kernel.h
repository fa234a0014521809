// The guest kernel: Debian's generic linux-image-amd64, fetched through the
// host's apt configuration, unpacked once into the cache, with the
// uncompressed vmlinux (booted directly through QEMU's PVH entry) extracted
// from the package's bzImage.
#pragma once

#include <functional>
#include <string>

#include "base/result.h"

namespace sbx::image {

/// Receives human-readable progress lines ("Downloading kernel ...").
using ProgressFn = std::function<void(const std::string&)>;

/// A kernel unpacked in the cache, ready to boot.
struct KernelArtifacts {
  std::string version;          ///< kernel release, e.g. "6.1.0-56-amd64"
  std::string vmlinux;          ///< uncompressed ELF, for -M microvm -kernel
  std::string modules_dir;      ///< <root>/lib/modules/<version>, depmod'ed
  std::string package_version;  ///< Debian version, e.g. "6.1.192-2"
};

/// Returns the cached kernel for the current candidate of linux-image-amd64,
/// downloading and unpacking it first if needed. Safe against concurrent
/// callers (flock) and against crashes (a completion marker is written last).
Result<KernelArtifacts> ensure_kernel(const std::string& cache_dir,
                                      ProgressFn progress);

/// The package the linux-image-amd64 metapackage's candidate depends on.
struct KernelPackage {
  std::string name;     ///< e.g. "linux-image-6.1.0-56-amd64"
  std::string version;  ///< candidate version of `name`
};

/// Asks apt (apt-cache) which real kernel package to use. No network.
Result<KernelPackage> resolve_kernel_package();

/// Finds the kernel image package in the text of `apt-cache show
/// --no-all-versions linux-image-amd64` (its Depends: line). `version` is
/// set when the dependency pins one with "(= V)", else left empty. Pure.
Result<KernelPackage> parse_kernel_dependency(const std::string& show_output);

/// Parses "Candidate: X" from `apt-cache policy PKG` output. Pure.
Result<std::string> parse_candidate_version(const std::string& policy_output);

/// Extracts the uncompressed ELF kernel from a bzImage whose payload is XZ:
/// decompresses from each XZ stream header in turn until one yields an ELF.
Result<void> extract_vmlinux(const std::string& bzimage_path,
                             const std::string& out_path);

/// Root directory of an unpacked kernel package (modules_dir minus
/// /lib/modules/<version>), as needed by depmod -b and modprobe -d.
std::string kernel_root(const KernelArtifacts& kernel);

}  // namespace sbx::image
