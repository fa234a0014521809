// Small facts about the running system reported to the host.
#pragma once

#include <cstdint>
#include <string>

namespace sbx::agent {

/// uname -r.
std::string kernel_release();
/// gethostname().
std::string host_name();
/// Milliseconds since boot (CLOCK_BOOTTIME).
uint64_t uptime_ms();

}  // namespace sbx::agent
