// TLS termination for hosts with a credential rule: the guest's TLS ends
// here with a leaf from the sbx CA, a second TLS connection goes upstream
// with full verification against the host's trust store, and the
// plaintext requests in between pass through a RequestRewriter (Host
// checked on every request, credentials injected). SNI must name the host
// the tunnel was opened to: no domain fronting.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/fd.h"
#include "base/result.h"
#include "net/cert_authority.h"
#include "net/client_stream.h"
#include "net/credential_source.h"
#include "net/request_rewriter.h"

namespace sbx::net {

/// Tunables.
struct InterceptOptions {
  /// PEM bundle to verify upstream servers against; empty: the host's
  /// trust store (OpenSSL's default paths, which honour SSL_CERT_FILE).
  std::string upstream_ca_file;
  std::chrono::milliseconds handshake_timeout = std::chrono::seconds(10);
  /// A connection idle (no byte either way) this long is closed.
  std::chrono::milliseconds idle_timeout = std::chrono::minutes(10);
  size_t buffer = 64 * 1024;  ///< plaintext buffered per direction at most
};

/// How one intercepted connection went.
struct InterceptResult {
  uint64_t bytes_up = 0;    ///< plaintext bytes sent upstream
  uint64_t bytes_down = 0;  ///< plaintext bytes sent to the guest
  std::string error;        ///< TLS or I/O failure, empty when it ended cleanly
  std::string refused;      ///< why a request (or the handshake) was refused
};

/// Terminates and re-originates TLS. Thread-safe: one per daemon. OpenSSL
/// writes to its sockets with write(2): the process must ignore SIGPIPE, as
/// sandboxd does.
class TlsInterceptor {
 public:
  /// Called for each request let through (for the network log).
  using OnRequest = std::function<void(const RequestSeen&)>;

  /// `ca` must outlive the interceptor.
  static Result<std::unique_ptr<TlsInterceptor>> create(CertAuthority& ca,
                                                        InterceptOptions opts = {});
  ~TlsInterceptor();
  TlsInterceptor(const TlsInterceptor&) = delete;
  TlsInterceptor& operator=(const TlsInterceptor&) = delete;

  /// Serves one connection to `host`:`port` to its end. `client` is the
  /// guest's stream, `prefix` what was already read from it (the start of
  /// its ClientHello, possibly empty), `upstream` a connected TCP socket.
  InterceptResult run(ClientStream& client, std::string prefix, Fd upstream,
                      const std::string& host, uint16_t port, std::vector<CredentialRule> rules,
                      const OnRequest& on_request);

  CertAuthority& authority() { return ca_; }

 private:
  TlsInterceptor(CertAuthority& ca, InterceptOptions opts) : ca_(ca), opts_(std::move(opts)) {}
  CertAuthority& ca_;
  InterceptOptions opts_;
  SSL_CTX* upstream_ctx_ = nullptr;
};

}  // namespace sbx::net
