#include "agent/dns_relay.h"

#include <cerrno>
#include <cstring>
#include <string>

#include "proto/frame.h"

namespace sbx::agent {

using Clock = std::chrono::steady_clock;

namespace {

/// Pending DNS queries remembered; the oldest is forgotten when full.
constexpr size_t kMaxPending = 256;
/// A query unanswered for this long is forgotten (clients retry sooner).
constexpr auto kTimeout = std::chrono::seconds(10);
/// Classic DNS-over-UDP limit for queries; anything bigger is dropped.
constexpr size_t kMaxQuery = 512;
/// Per wake-up, so a flood cannot starve the loop.
constexpr int kBurst = 64;

}  // namespace

void DnsRelay::read_queries(bool host_ready) {
  char buf[kMaxQuery];
  for (int i = 0; i < kBurst; ++i) {
    Pending p;
    p.client_len = sizeof p.client;
    // MSG_TRUNC: the result is the datagram's real size, so an oversized
    // query is recognised (and dropped) instead of relayed truncated.
    ssize_t n = recvfrom(sock_.get(), buf, sizeof buf, MSG_TRUNC,
                         reinterpret_cast<sockaddr*>(&p.client), &p.client_len);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        console_.log(std::string("dns: recvfrom: ") + strerror(errno));
      return;
    }
    if (n == 0 || static_cast<size_t>(n) > kMaxQuery) continue;
    if (!host_ready || !out_.has_room()) continue;
    auto now = Clock::now();
    // Every entry has the same lifetime, so the expired ones are in front.
    while (!pending_.empty() && pending_.front().deadline <= now) pending_.pop_front();
    if (pending_.size() >= kMaxPending) pending_.pop_front();
    p.tag = next_tag_++;
    if (next_tag_ == 0) next_tag_ = 1;
    p.deadline = now + kTimeout;
    pending_.push_back(p);
    out_.send(proto::kDnsChannel, proto::FrameType::kDatagram,
              proto::encode_datagram(p.tag, std::string_view(buf, static_cast<size_t>(n))));
  }
}

void DnsRelay::on_answer(std::string_view payload) {
  if (!sock_.valid()) return;
  auto d = proto::decode_datagram(payload);
  if (!d) {
    console_.log("dns: " + d.error().message);
    return;
  }
  auto now = Clock::now();
  for (auto it = pending_.begin(); it != pending_.end(); ++it) {
    if (it->tag != d->tag) continue;
    if (it->deadline > now)
      (void)sendto(sock_.get(), d->body.data(), d->body.size(), MSG_DONTWAIT,
                   reinterpret_cast<const sockaddr*>(&it->client), it->client_len);
    pending_.erase(it);
    return;
  }
  // Unknown or long-forgotten tag: nothing to answer.
}

}  // namespace sbx::agent
