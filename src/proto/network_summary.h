// The network log grouped by host, as `sbx policy log --summary` prints it
// and the dashboard's by-host view shows it. Pure: no I/O.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "proto/api.h"

namespace sbx::proto {

/// What the log holds about one host.
struct HostSummary {
  std::string host;
  int64_t count = 0;         ///< connections and queries logged
  int64_t allowed = 0;       ///< of which allowed
  int64_t blocked = 0;       ///< of which denied
  int64_t last_seen_ms = 0;  ///< newest entry's time
  std::string last_sandbox;  ///< the sandbox of the newest entry
  uint64_t bytes = 0;        ///< up + down, all entries
};

/// Groups `log` (any order) by host, most recently seen first; DNS queries
/// count towards their host as connections do.
std::vector<HostSummary> summarize_by_host(const std::vector<NetworkLogEntry>& log);

/// "allowed", "blocked" or "mixed" for a summary line.
std::string verdict_of(const HostSummary& s);

}  // namespace sbx::proto
