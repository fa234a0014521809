// Settings sandboxd reads once at start-up.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "base/paths.h"

namespace sbx::daemon {

/// Settings the daemon reads once at start-up.
struct DaemonConfig {
  Paths paths;
  std::string agent_binary;         ///< static sbx-agent for the initramfs
  std::string accel;                ///< "", "auto", "kvm", "tcg" (SBX_ACCEL)
  std::string workspace_fs = "9p";  ///< "9p" or "virtiofs" (SBX_WORKSPACE_FS)
  std::chrono::milliseconds boot_timeout{std::chrono::minutes(3)};
  /// A first boot whose console shows no agent line this long is restarted
  /// (SBX_SILENT_BOOT_TIMEOUT, seconds).
  std::chrono::milliseconds silent_boot_timeout{std::chrono::seconds(30)};
  uint64_t disk_bytes = 20ull << 30;
  uint64_t docker_bytes = 10ull << 30;
};

}  // namespace sbx::daemon
