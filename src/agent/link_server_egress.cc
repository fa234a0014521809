// LinkServer's egress: connections accepted on the forward-proxy and
// transparent listeners become guest-opened channels (OPEN {"kind":"egress"}
// with kGuestChannelBit ids); after the host's OPEN_OK they are ordinary
// TcpChannels. DNS queries on the stub socket travel as DATAGRAM frames on
// kDnsChannel. The guest makes no decisions: sandboxd applies the policy.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
// After <netinet/in.h>: the kernel header then skips its own in.h types.
#include <linux/netfilter_ipv4.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "agent/link_server.h"

namespace sbx::agent {

using proto::Frame;
using proto::FrameType;
using Clock = std::chrono::steady_clock;

namespace {

/// How long the host may take to answer a guest OPEN (it may be resolving
/// and connecting upstream) before the channel is closed.
constexpr auto kEgressOpenTimeout = std::chrono::seconds(30);
/// Concurrent egress channels; more connections are accepted and closed.
constexpr size_t kMaxEgressChannels = 256;
/// Pending DNS queries remembered; the oldest is forgotten when full.
constexpr size_t kMaxDnsPending = 256;
/// A query unanswered for this long is forgotten (clients retry sooner).
constexpr auto kDnsTimeout = std::chrono::seconds(10);
/// Classic DNS-over-UDP limit for queries; anything bigger is dropped.
constexpr size_t kMaxDnsQuery = 512;
/// Per wake-up, so a flood on one listener cannot starve the loop.
constexpr int kAcceptBurst = 64;

std::string ipv4_text(const sockaddr_in& a) {
  char ip[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &a.sin_addr, ip, sizeof ip);
  return ip;
}

}  // namespace

uint32_t LinkServer::alloc_guest_channel() {
  // At most kMaxEgressChannels ids are in use, so this ends quickly. Ids
  // stay below 0xFFFFFFFE/0xFFFFFFFF (DNS, HELLO).
  for (;;) {
    uint32_t id = proto::kGuestChannelBit | next_guest_;
    next_guest_ = next_guest_ + 1 >= 0x7FFFFFFEu ? 1 : next_guest_ + 1;
    if (!channel_in_use(id)) return id;
  }
}

void LinkServer::egress_accept(bool transparent) {
  Fd& listener = transparent ? opts_.egress.transparent : opts_.egress.proxy;
  for (int i = 0; i < kAcceptBurst; ++i) {
    int s = accept4(listener.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (s < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        console_.log(std::string("egress: accept: ") + strerror(errno));
      return;
    }
    Fd sock(s);  // closed at the end of this iteration unless kept
    // Without a host nobody could answer the OPEN: fail fast.
    if (!host_connected()) continue;
    size_t egress = 0;
    for (auto& [id, c] : tcp_) egress += c.egress;
    if (egress >= kMaxEgressChannels) {
      auto now = Clock::now();
      if (now >= egress_log_next_) {
        console_.log("egress: " + std::to_string(kMaxEgressChannels) +
                     " connections open; refusing more");
        egress_log_next_ = now + std::chrono::seconds(5);
      }
      continue;
    }
    proto::EgressOpen req;
    std::string label = "egress forward";
    if (transparent) {
      sockaddr_in orig{}, local{};
      socklen_t olen = sizeof orig, llen = sizeof local;
      if (getsockopt(s, SOL_IP, SO_ORIGINAL_DST, &orig, &olen) < 0 ||
          getsockname(s, reinterpret_cast<sockaddr*>(&local), &llen) < 0 ||
          orig.sin_family != AF_INET)
        continue;  // not a redirected connection (no conntrack entry)
      // A direct connection to the listener has itself as "original"
      // destination; relaying it would only loop back here.
      if (orig.sin_addr.s_addr == local.sin_addr.s_addr && orig.sin_port == local.sin_port)
        continue;
      req.mode = "transparent";
      req.ip = ipv4_text(orig);
      req.port = ntohs(orig.sin_port);
      label = "egress " + req.ip + ":" + std::to_string(req.port);
    }
    int one = 1;
    (void)setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    TcpChannel c;
    c.id = alloc_guest_channel();
    c.sock = std::move(sock);
    c.label = label;
    c.egress = true;
    c.connecting = true;  // until OPEN_OK; the socket is not read before
    c.connect_deadline = Clock::now() + kEgressOpenTimeout;
    send(c.id, FrameType::kOpen, proto::to_json(req));
    tcp_.emplace(c.id, std::move(c));
  }
}

void LinkServer::egress_reply(const Frame& f) {
  auto it = tcp_.find(f.channel);
  // A late answer for a channel we already closed (deadline, guest gone):
  // our CLOSE tells the host.
  if (it == tcp_.end() || !it->second.egress || !it->second.connecting) return;
  TcpChannel& c = it->second;
  if (f.type == FrameType::kOpenFail) {
    // The host refused (policy, upstream unreachable) and has forgotten the
    // channel: closing the socket is the whole answer the guest app gets.
    tcp_.erase(it);
    return;
  }
  c.connecting = false;
  // The host may have pipelined DATA/EOF right after its OPEN_OK.
  if (!c.in_buf.empty() || c.in_eof) tcp_write(c);
  tcp_maybe_finish(f.channel);
}

void LinkServer::dns_read() {
  char buf[kMaxDnsQuery];
  for (int i = 0; i < kAcceptBurst; ++i) {
    DnsPending p;
    p.client_len = sizeof p.client;
    // MSG_TRUNC: the result is the datagram's real size, so an oversized
    // query is recognised (and dropped) instead of relayed truncated.
    ssize_t n = recvfrom(opts_.egress.dns.get(), buf, sizeof buf, MSG_TRUNC,
                         reinterpret_cast<sockaddr*>(&p.client), &p.client_len);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        console_.log(std::string("dns: recvfrom: ") + strerror(errno));
      return;
    }
    if (n == 0 || static_cast<size_t>(n) > kMaxDnsQuery) continue;
    // No host, or the link is backed up: drop; DNS clients retry.
    if (!host_connected() || pending_out() >= kOutHighWater) continue;
    auto now = Clock::now();
    // Every entry has the same lifetime, so the expired ones are in front.
    while (!dns_pending_.empty() && dns_pending_.front().deadline <= now)
      dns_pending_.pop_front();
    if (dns_pending_.size() >= kMaxDnsPending) dns_pending_.pop_front();
    p.tag = next_dns_tag_++;
    if (next_dns_tag_ == 0) next_dns_tag_ = 1;
    p.deadline = now + kDnsTimeout;
    dns_pending_.push_back(p);
    send(proto::kDnsChannel, FrameType::kDatagram,
         proto::encode_datagram(p.tag, std::string_view(buf, static_cast<size_t>(n))));
  }
}

void LinkServer::on_datagram(const Frame& f) {
  if (f.channel != proto::kDnsChannel || !opts_.egress.dns.valid()) return;
  auto d = proto::decode_datagram(f.payload);
  if (!d) {
    console_.log("dns: " + d.error().message);
    return;
  }
  auto now = Clock::now();
  for (auto it = dns_pending_.begin(); it != dns_pending_.end(); ++it) {
    if (it->tag != d->tag) continue;
    if (it->deadline > now)
      (void)sendto(opts_.egress.dns.get(), d->body.data(), d->body.size(), MSG_DONTWAIT,
                   reinterpret_cast<const sockaddr*>(&it->client), it->client_len);
    dns_pending_.erase(it);
    return;
  }
  // Unknown or long-forgotten tag: nothing to answer.
}

std::string LinkServer::egress_json() const {
  const EgressSockets& e = opts_.egress;
  return nlohmann::json{{"proxy", e.proxy.valid() ? e.proxy_addr : ""},
                        {"transparent", e.redirect},
                        {"dns", e.dns.valid()},
                        {"transparent_addr", e.transparent.valid() ? e.transparent_addr : ""},
                        {"dns_addr", e.dns.valid() ? e.dns_addr : ""}}
      .dump();
}

}  // namespace sbx::agent
