#include "daemon/sandbox_status.h"

namespace sbx::daemon {

std::string_view status_name(SandboxStatus s) {
  switch (s) {
    case SandboxStatus::kStopped:
      return "stopped";
    case SandboxStatus::kStarting:
      return "starting";
    case SandboxStatus::kRunning:
      return "running";
    case SandboxStatus::kStopping:
      return "stopping";
    case SandboxStatus::kFailed:
      return "failed";
  }
  return "failed";
}

SandboxStatus parse_status(std::string_view name) {
  for (auto s : {SandboxStatus::kStopped, SandboxStatus::kStarting, SandboxStatus::kRunning,
                 SandboxStatus::kStopping, SandboxStatus::kFailed})
    if (status_name(s) == name) return s;
  return SandboxStatus::kStopped;
}

bool is_active(SandboxStatus s) {
  return s == SandboxStatus::kRunning || s == SandboxStatus::kStarting ||
         s == SandboxStatus::kStopping;
}

}  // namespace sbx::daemon
