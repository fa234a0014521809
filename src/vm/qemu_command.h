// Builds the QEMU command line for one sandbox VM from a VmConfig.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "vm/vm_config.h"

namespace sbx::vm {

/// Escapes a value for QEMU's "key=value,key=value" option syntax: a comma
/// inside a value is written as two commas.
std::string qemu_opt_escape(std::string_view value);

/// The guest kernel command line: console=ttyS0 panic=-1 quiet, then
/// tsc_early_khz=<cfg.tsc_khz> when known, then cfg.cmdline.
std::string kernel_cmdline(const VmConfig& cfg);

/// The -cpu model used for this config ("host" under KVM, "max" under TCG,
/// unless cfg.cpu_model overrides).
std::string cpu_model(const VmConfig& cfg);

/// The full argv (argv[0] = cfg.qemu_binary). Never adds a network device:
/// the VM's only data path is the virtio-serial agent port.
std::vector<std::string> qemu_argv(const VmConfig& cfg);

/// Escapes a value for a libfuse-style "-o key=value" option (virtiofsd):
/// commas and backslashes get a backslash.
std::string fuse_opt_escape(std::string_view value);

/// argv for virtiofsd serving cfg.workspace (virtio-fs only), argv[0] =
/// `binary`. Uses virtiofsd's default namespace sandbox (needs root).
std::vector<std::string> virtiofsd_argv(const VmConfig& cfg,
                                        const std::string& binary);

}  // namespace sbx::vm
