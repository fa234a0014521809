// The guest's DNS stub: queries arriving on its UDP socket travel to the
// host as DATAGRAM frames on kDnsChannel, tagged; the host's answer for a
// tag goes back to the client that asked. See docs/design.md, "Egress".
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <string_view>

#include "agent/console.h"
#include "agent/link_output.h"
#include "base/fd.h"

namespace sbx::agent {

/// Relays DNS queries between the stub socket and the host.
class DnsRelay {
 public:
  /// `sock` is the bound stub socket (not owned; may be invalid: disabled).
  DnsRelay(const Fd& sock, LinkOutput& out, const Console& console)
      : sock_(sock), out_(out), console_(console) {}

  /// Reads pending queries and relays them. Without a host (`host_ready`
  /// false), or while the link is above its high-water mark, they are
  /// dropped: DNS clients retry.
  void read_queries(bool host_ready);
  /// A DATAGRAM frame from the host: the answer for a pending query's tag.
  void on_answer(std::string_view payload);
  /// Forgets every pending query (their answers will never come).
  void clear() { pending_.clear(); }
  size_t pending() const { return pending_.size(); }

 private:
  /// A query relayed to the host and not yet answered.
  struct Pending {
    uint32_t tag = 0;
    sockaddr_storage client{};
    socklen_t client_len = 0;
    std::chrono::steady_clock::time_point deadline;
  };

  const Fd& sock_;
  LinkOutput& out_;
  const Console& console_;
  /// Oldest first; bounded (the oldest is dropped when full).
  std::deque<Pending> pending_;
  uint32_t next_tag_ = 1;
};

}  // namespace sbx::agent
