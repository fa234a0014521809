// The egress proxy core: one guest connection in, a policy decision, and
// (when allowed) a relay to the internet. The daemon adapts each egress
// channel from the guest to a ClientStream and calls EgressProxy::handle on
// a thread of its own; handle blocks until the connection is over.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/fd.h"
#include "base/result.h"
#include "net/address.h"
#include "net/client_stream.h"
#include "net/credential_source.h"
#include "net/dns_names.h"
#include "net/network_log.h"
#include "net/policy.h"
#include "net/resolver.h"
#include "net/tls_interceptor.h"
#include "net/upstream_override.h"

namespace sbx::net {

/// How the guest handed us the connection.
enum class ConnectionKind {
  kForward,      ///< to the in-guest proxy port: HTTP CONNECT or absolute-form
  kTransparent,  ///< redirected in the guest; the original destination is known
};
const char* kind_name(ConnectionKind k);

/// Metadata the guest side sends with each connection.
struct ConnectionInfo {
  std::string sandbox;
  ConnectionKind kind = ConnectionKind::kForward;
  std::optional<IpAddress> original_ip;  ///< kTransparent: destination IP
  uint16_t original_port = 0;            ///< kTransparent: destination port
};

/// What happened to one connection (also in the network log).
struct ConnectionSummary {
  bool allowed = false;
  std::string host;  ///< the name or address decided on
  uint16_t port = 0;
  std::string rule;
  uint64_t bytes_up = 0;
  uint64_t bytes_down = 0;
  std::string error;  ///< malformed request or upstream failure
  int64_t log_id = 0;
};

/// Tunables.
struct EgressOptions {
  size_t relay_buffer = 64 * 1024;  ///< per direction
  /// Names the guest's DNS stub handed out (nullable, must outlive the
  /// proxy): a transparent connection that names no host (not TLS with SNI,
  /// not HTTP with Host) is decided as the name its address was resolved
  /// from, so host:port rules apply to ssh and other raw TCP.
  const DnsNameCache* names = nullptr;
  /// Credential rules (nullable, must outlive the proxy). A TLS connection
  /// to a host with rules for its sandbox is terminated by `interceptor`;
  /// every other connection is relayed untouched.
  const CredentialSource* credentials = nullptr;
  TlsInterceptor* interceptor = nullptr;  ///< nullable; must outlive the proxy
  /// TEST ONLY (see upstream_override.h): allowed "host:port" destinations
  /// connected to a loopback address instead. Empty in production.
  UpstreamOverrides upstream_override;
};

/// Serves guest connections. Thread-safe: one instance for the daemon,
/// handle() called concurrently from many threads.
class EgressProxy {
 public:
  /// `policy` is called per connection so edits apply to new connections.
  /// `resolver`, `connector` and `log` (nullable) must outlive the proxy.
  EgressProxy(std::function<std::shared_ptr<const Policy>()> policy, Resolver& resolver,
              const UpstreamConnector& connector, NetworkLog* log, EgressOptions opts = {})
      : policy_(std::move(policy)),
        resolver_(resolver),
        connector_(connector),
        log_(log),
        opts_(opts) {}

  /// Serves one connection to its end: parse, decide, log, relay or refuse.
  /// Denied HTTP requests get a 403 naming the rule; denied raw TLS/TCP is
  /// closed. The stream is shut down when this returns.
  ConnectionSummary handle(ClientStream& client, const ConnectionInfo& info);

 private:
  struct Request;
  ConnectionSummary serve(ClientStream& client, const ConnectionInfo& info, Request& req);
  Result<Fd> open_upstream(const Policy& policy, const ConnectionInfo& info,
                           const std::string& host, const std::optional<IpAddress>& ip,
                           uint16_t port, Decision& decision, std::string& connect_error);
  /// Serves an allowed TLS connection to a host with credential rules.
  void intercept(ClientStream& client, const ConnectionInfo& info, Request& req, Fd upstream,
                 std::vector<CredentialRule> rules, ConnectionSummary& s);

  std::function<std::shared_ptr<const Policy>()> policy_;
  Resolver& resolver_;
  const UpstreamConnector& connector_;
  NetworkLog* log_;
  EgressOptions opts_;
};

/// The 403 body for a denied request: the rule and the command to allow it.
std::string forbidden_response(const std::string& host, uint16_t port, const std::string& rule);

}  // namespace sbx::net
