// Turning a TCP OPEN's host into a socket address without DNS: the guest has
// no resolver the agent could trust, and published ports only ever target
// loopback or a literal address.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace sbx::agent {

/// A resolved endpoint, ready for socket()/connect().
struct TcpAddress {
  sockaddr_storage addr{};
  socklen_t len = 0;
  int family = AF_INET;
};

/// Accepts a numeric IPv4 or IPv6 literal (optionally in [brackets]) or
/// "localhost" (127.0.0.1). Any other name is an error: no DNS lookups.
Result<TcpAddress> resolve_literal(std::string_view host, uint16_t port);

/// "host:port" (IPv6 hosts bracketed), as used in error messages.
std::string endpoint_label(std::string_view host, uint16_t port);

}  // namespace sbx::agent
