// An HTTPS server on the host's loopback standing in for a real service
// (api.anthropic.com, a registry): its own CA signs a leaf for whatever name
// the client's SNI asks for, and a handler answers each request. Suites
// reach it under the real name through sandboxd's test-only upstream
// override and hand sandboxd its CA (SSL_CERT_FILE) as the host's own.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/files.h"

namespace sbx::net {
class CertAuthority;
}

namespace sbx::testing {

class LoopbackServer;

/// One request as the upstream received it.
struct UpstreamRequest {
  std::string sni;     ///< the TLS server name the client asked for
  std::string head;    ///< request line and headers, up to the blank line
  std::string body;    ///< the body (Content-Length framing only)
  std::string method;  ///< e.g. POST
  std::string path;    ///< e.g. /v1/messages
  /// The value of header `name` (case-insensitive), or "" when absent.
  std::string header(const std::string& name) const;
};

/// A loopback HTTPS server; requests on a connection are served in turn
/// (keep-alive) until the client closes or a handler's answer closes it.
class FakeHttpsUpstream {
 public:
  /// Returns the whole response (status line, headers, body) for a request.
  using Handler = std::function<std::string(const UpstreamRequest&)>;
  explicit FakeHttpsUpstream(Handler handler);
  ~FakeHttpsUpstream();
  FakeHttpsUpstream(const FakeHttpsUpstream&) = delete;
  FakeHttpsUpstream& operator=(const FakeHttpsUpstream&) = delete;

  /// Whether the CA and listener were made.
  bool ok() const;
  uint16_t port() const;
  /// The PEM file of the CA that signs this server's leaves.
  std::string ca_file() const;
  /// The requests received so far.
  std::vector<UpstreamRequest> requests() const;
  void clear();

  /// A response with `status` (e.g. "200 OK"), a content type and a body.
  static std::string response(const std::string& status, const std::string& content_type,
                              const std::string& body);

 private:
  void serve(int fd);

  Handler handler_;
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<net::CertAuthority> ca_;
  mutable std::mutex mu_;
  std::vector<UpstreamRequest> requests_;
  std::unique_ptr<LoopbackServer> server_;  // last: stops before the rest goes
};

}  // namespace sbx::testing
