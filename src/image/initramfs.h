// The initramfs sbx boots: the static sbx-agent as /init plus only the kernel
// modules the guest needs, in load order. The agent loads them itself
// (finit_module) from the list in /etc/sbx/modules.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "image/kernel.h"

namespace sbx::image {

/// Modules a sandbox needs: virtio transports and disks, the workspace
/// filesystems (9p, virtio-fs), ext4/overlay for the root, and what a private
/// dockerd needs for bridge networking and NAT.
std::vector<std::string> default_guest_modules();

/// What `modprobe --show-depends` says about a set of requested modules.
struct ModulePlan {
  /// Host paths of the .ko / .ko.xz files, dependencies first, no repeats.
  std::vector<std::string> files;
  /// Requested modules built into the kernel (nothing to load).
  std::vector<std::string> builtin;
  /// Requested modules this kernel package does not have.
  std::vector<std::string> missing;
};

/// Parsed output of one `modprobe --show-depends` run.
struct ShowDepends {
  std::vector<std::string> insmod;   ///< module file paths, in order
  std::vector<std::string> builtin;  ///< names reported as built in
};

/// Parses `modprobe --show-depends` output ("insmod PATH [opts]",
/// "builtin NAME"). Pure; exposed for tests.
ShowDepends parse_show_depends(const std::string& output);

/// Resolves `modules` and their dependencies against the unpacked kernel
/// (whose tree ensure_kernel() already ran depmod on).
Result<ModulePlan> resolve_modules(const KernelArtifacts& kernel,
                                   const std::vector<std::string>& modules);

/// Path of a module inside the initramfs ("/lib/modules/<ver>/kernel/...ko";
/// a .ko.xz is stored decompressed as .ko so plain finit_module works).
std::string initramfs_module_path(const KernelArtifacts& kernel,
                                  const std::string& host_path);

/// Writes the initramfs (uncompressed newc cpio) to `out_path`: /init (the
/// agent, 0755), /dev (with console and null nodes), /proc, /sys, /newroot,
/// /etc/sbx, the modules, and /etc/sbx/modules listing their paths in load
/// order. Modules the kernel lacks are skipped. Returns `out_path`.
Result<std::string> build_initramfs(const KernelArtifacts& kernel,
                                    const std::string& agent_binary,
                                    const std::vector<std::string>& modules,
                                    const std::string& out_path);

/// Returns <cache_dir>/initramfs/<sha256>.cpio, building it if needed. The
/// hash covers the kernel, the module list and the agent binary's bytes.
/// Reports skipped (missing) modules through `progress`.
Result<std::string> ensure_initramfs(const std::string& cache_dir,
                                     const KernelArtifacts& kernel,
                                     const std::string& agent_binary,
                                     const std::vector<std::string>& modules,
                                     ProgressFn progress);

}  // namespace sbx::image
