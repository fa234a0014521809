// Name resolution and upstream connections for the egress proxy. A name is
// resolved once; the caller checks every address against the policy and
// then connects to exactly an address it checked, so a second lookup can
// never swap in 127.0.0.1 (DNS rebinding). The host's own HTTP(S)_PROXY is
// honoured for upstream connections, because sandboxd must work on
// networks where only the corporate proxy reaches the internet.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/fd.h"
#include "base/result.h"
#include "net/address.h"

namespace sbx::net {

/// Turns names into addresses. Implementations must be thread-safe.
class Resolver {
 public:
  virtual ~Resolver() = default;
  /// All A and AAAA addresses of `host`, each once, in resolver order.
  /// An IP literal resolves to itself without a lookup.
  virtual Result<std::vector<IpAddress>> resolve(const std::string& host) = 0;
};

/// getaddrinfo with a deadline. The lookup runs on its own thread; if the
/// deadline passes the caller gets an error at once and the thread finishes
/// (and frees its state) whenever libc returns.
class SystemResolver : public Resolver {
 public:
  explicit SystemResolver(std::chrono::milliseconds timeout = std::chrono::seconds(5))
      : timeout_(timeout) {}
  Result<std::vector<IpAddress>> resolve(const std::string& host) override;

 private:
  std::chrono::milliseconds timeout_;
};

/// A fixed table, for tests and for pinned names.
class StaticResolver : public Resolver {
 public:
  void add(const std::string& host, std::vector<IpAddress> addrs);
  Result<std::vector<IpAddress>> resolve(const std::string& host) override;

 private:
  std::mutex mu_;
  std::map<std::string, std::vector<IpAddress>> table_;
};

/// Connects a TCP socket to `ip`:`port` within `timeout`. Blocking fd.
Result<Fd> connect_tcp(const IpAddress& ip, uint16_t port, std::chrono::milliseconds timeout);

/// An upstream HTTP proxy from the host's environment.
struct ProxyUrl {
  std::string host;
  uint16_t port = 0;
  std::string basic_auth;  ///< "user:password" when the URL carries one
  bool operator==(const ProxyUrl&) const = default;
};
/// Parses "http://[user:pw@]host[:port][/]" or "host:port" (default port 80
/// for http://, 1080 otherwise is not guessed: a port is then required).
Result<ProxyUrl> parse_proxy_url(std::string_view url);

/// The host's proxy configuration.
struct ProxySettings {
  std::optional<ProxyUrl> http_proxy;   ///< used for port 80
  std::optional<ProxyUrl> https_proxy;  ///< used for every other port
  std::vector<std::string> no_proxy;    ///< lower-case entries

  /// Reads http_proxy/HTTP_PROXY, https_proxy/HTTPS_PROXY, no_proxy/NO_PROXY
  /// (lower-case wins, as curl does) from `env`. Unparseable URLs are ignored.
  static ProxySettings from_env(const std::map<std::string, std::string>& env);
  /// from_env() over the current process environment.
  static ProxySettings from_process_env();
  /// The proxy for `host`:`port`, or nullopt to connect directly. NO_PROXY
  /// entries: "*" (everything), "example.com" or ".example.com" (that host
  /// and its subdomains), an IP or CIDR (for IP-literal hosts); a ":port"
  /// suffix on an entry is ignored.
  std::optional<ProxyUrl> proxy_for(std::string_view host, uint16_t port) const;
};

/// Opens upstream connections, directly or through the host's proxy.
class UpstreamConnector {
 public:
  UpstreamConnector(ProxySettings settings, Resolver& proxy_resolver,
                    std::chrono::milliseconds timeout = std::chrono::seconds(10))
      : settings_(std::move(settings)), resolver_(proxy_resolver), timeout_(timeout) {}

  /// Whether `host`:`port` goes through the host's proxy. If so the proxy
  /// resolves the name and the caller cannot check addresses itself.
  bool via_proxy(std::string_view host, uint16_t port) const {
    return settings_.proxy_for(host, port).has_value();
  }
  /// Connects to an address the caller has already checked.
  Result<Fd> connect_direct(const IpAddress& ip, uint16_t port) const;
  /// Opens a CONNECT tunnel to `host`:`port` through the host's proxy.
  Result<Fd> connect_via_proxy(const std::string& host, uint16_t port) const;

 private:
  ProxySettings settings_;
  Resolver& resolver_;
  std::chrono::milliseconds timeout_;
};

}  // namespace sbx::net
