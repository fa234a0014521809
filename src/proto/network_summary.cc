#include "proto/network_summary.h"

#include <algorithm>
#include <map>

namespace sbx::proto {

std::vector<HostSummary> summarize_by_host(const std::vector<NetworkLogEntry>& log) {
  std::map<std::string, HostSummary> by_host;
  for (const auto& e : log) {
    auto& s = by_host[e.host];
    s.host = e.host;
    ++s.count;
    (e.allowed ? s.allowed : s.blocked)++;
    s.bytes += e.bytes_up + e.bytes_down;
    if (e.time_ms >= s.last_seen_ms) {
      s.last_seen_ms = e.time_ms;
      s.last_sandbox = e.sandbox;
    }
  }
  std::vector<HostSummary> out;
  out.reserve(by_host.size());
  for (auto& [_, s] : by_host) out.push_back(std::move(s));
  // Stable on the host name for equal times, so the view does not jitter.
  std::stable_sort(out.begin(), out.end(), [](const HostSummary& a, const HostSummary& b) {
    return a.last_seen_ms > b.last_seen_ms;
  });
  return out;
}

std::string verdict_of(const HostSummary& s) {
  if (s.blocked == 0) return "allowed";
  if (s.allowed == 0) return "blocked";
  return "mixed";
}

}  // namespace sbx::proto
