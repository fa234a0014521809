#include "net/dns_names.h"

#include <algorithm>

namespace sbx::net {

void DnsNameCache::remember(std::string_view sandbox, const std::string& name,
                            const std::vector<IpAddress>& addrs, Clock::time_point now) {
  std::lock_guard l(mu_);
  for (const auto& a : addrs) {
    Entry& e = entries_[Key{std::string(sandbox), unmap(a).to_string()}];
    e.name = name;
    e.expires = now + lifetime_;
    e.seq = next_seq_++;
  }
  if (entries_.size() > max_) evict_locked(now);
}

std::optional<std::string> DnsNameCache::lookup(std::string_view sandbox, const IpAddress& ip,
                                                Clock::time_point now) const {
  std::lock_guard l(mu_);
  auto it = entries_.find(Key{std::string(sandbox), unmap(ip).to_string()});
  if (it == entries_.end() || it->second.expires <= now) return std::nullopt;
  return it->second.name;
}

void DnsNameCache::forget(std::string_view sandbox) {
  std::lock_guard l(mu_);
  for (auto it = entries_.begin(); it != entries_.end();)
    it = it->first.first == sandbox ? entries_.erase(it) : std::next(it);
}

size_t DnsNameCache::size() const {
  std::lock_guard l(mu_);
  return entries_.size();
}

void DnsNameCache::evict_locked(Clock::time_point now) {
  for (auto it = entries_.begin(); it != entries_.end();)
    it = it->second.expires <= now ? entries_.erase(it) : std::next(it);
  if (entries_.size() <= max_) return;
  // Still full: drop the oldest eighth at once, so a guest resolving many
  // names does not pay a full scan on every answer.
  std::vector<std::pair<uint64_t, Key>> by_age;
  by_age.reserve(entries_.size());
  for (const auto& [k, e] : entries_) by_age.emplace_back(e.seq, k);
  size_t drop = entries_.size() - max_ + max_ / 8;
  drop = std::min(drop, by_age.size());
  if (drop == 0) return;
  std::nth_element(by_age.begin(), by_age.begin() + static_cast<long>(drop) - 1, by_age.end());
  for (size_t i = 0; i < drop; ++i) entries_.erase(by_age[i].second);
}

}  // namespace sbx::net
