// CPU and memory of a sandbox's VM as the host sees them: QEMU's process
// in /proc. Sampled when a sandbox's info is asked for (the dashboard asks
// about once a second), so no thread ticks in the background.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace sbx::daemon {

/// Reads /proc/PID/stat and turns CPU ticks into a percentage of one core
/// since the previous sample of the same process. Thread-safe.
class ResourceSampler {
 public:
  /// What one process uses.
  struct Sample {
    double cpu_percent = -1;  ///< -1: unknown (no such process)
    uint64_t rss_bytes = 0;
  };

  /// `proc_root` is "/proc" except in tests.
  explicit ResourceSampler(std::string proc_root = "/proc");

  /// Samples `pid` at `now`. The first sample of a process averages over
  /// its whole life (from its start time in /proc/PID/stat and /proc/uptime);
  /// processes not sampled for a minute are forgotten then.
  Sample sample(pid_t pid, std::chrono::steady_clock::time_point now);
  Sample sample(pid_t pid) { return sample(pid, std::chrono::steady_clock::now()); }

 private:
  struct Last {
    uint64_t ticks = 0;
    uint64_t start = 0;  ///< the process's start time in ticks, to tell reuse
    std::chrono::steady_clock::time_point at;
    double percent = -1;  ///< the rate last reported
  };
  std::string proc_;
  long hz_;
  long page_;
  std::mutex mu_;
  std::map<pid_t, Last> last_;
};

}  // namespace sbx::daemon
