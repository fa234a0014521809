// Which name the guest's DNS stub answered with which address. A
// transparent connection to a port that carries no name of its own (ssh,
// a database) arrives with only its destination address; this lets it be
// decided, and logged, by the name the guest looked up, so `host:port`
// rules work for it. Bounded and thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/address.h"

namespace sbx::net {

class DnsNameCache {
 public:
  using Clock = std::chrono::steady_clock;

  /// At most `max_entries` (sandbox, address) pairs; the oldest go first.
  /// `lifetime`: how long an answer stays usable (longer than the DNS TTL
  /// we hand out: programs keep addresses past it).
  explicit DnsNameCache(size_t max_entries = 8192,
                        std::chrono::seconds lifetime = std::chrono::minutes(30))
      : max_(max_entries), lifetime_(lifetime) {}

  /// Records that `sandbox` was told `name` is at each of `addrs`. A later
  /// answer for the same address replaces the earlier name.
  void remember(std::string_view sandbox, const std::string& name,
                const std::vector<IpAddress>& addrs, Clock::time_point now = Clock::now());
  /// The name `sandbox` last resolved to `ip`, if it is still fresh.
  std::optional<std::string> lookup(std::string_view sandbox, const IpAddress& ip,
                                    Clock::time_point now = Clock::now()) const;
  /// Drops everything about `sandbox` (it stopped or was removed).
  void forget(std::string_view sandbox);
  size_t size() const;

 private:
  struct Entry {
    std::string name;
    Clock::time_point expires;
    uint64_t seq = 0;
  };
  using Key = std::pair<std::string, std::string>;  // sandbox, address text
  void evict_locked(Clock::time_point now);

  size_t max_;
  std::chrono::seconds lifetime_;
  mutable std::mutex mu_;
  std::map<Key, Entry> entries_;
  uint64_t next_seq_ = 0;
};

}  // namespace sbx::net
