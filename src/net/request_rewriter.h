// The plaintext side of an intercepted TLS connection, guest -> upstream:
// splits the byte stream into HTTP/1.x requests, decides each one (Host must
// be the host the tunnel was opened to, so a kept-alive connection cannot
// carry a request for another host), injects the credentials, and passes
// bodies through by their framing. Pure and bounded: no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "net/credential_source.h"
#include "net/http_parser.h"

namespace sbx::net {

/// One request the rewriter let through (for the network log).
struct RequestSeen {
  std::string method;
  std::string path;      ///< as the guest sent it (before injection), ≤ 2048 bytes
  std::string services;  ///< comma-separated services whose credential went in
};

/// Streams requests for one tunnel to `host`:`port`. Not thread-safe.
class RequestRewriter {
 public:
  /// Longest chunk-size line or trailer section accepted.
  static constexpr size_t kMaxChunkLine = 4096;

  RequestRewriter(std::string host, uint16_t port, std::vector<CredentialRule> rules)
      : host_(std::move(host)), port_(port), rules_(std::move(rules)) {}

  /// Consumes `in` and returns the bytes to send upstream; each request
  /// head completed on the way is appended to `seen`. An Error refuses the
  /// connection: its message is the reason (a 421 if code is 421, else 400),
  /// and nothing after the refused request may be sent.
  Result<std::string> feed(std::string_view in, std::vector<RequestSeen>& seen);

  /// Whether a request upgraded the connection (WebSocket): bytes are then
  /// passed through unparsed.
  bool passthrough() const { return state_ == State::kPassthrough; }

 private:
  enum class State { kHead, kBody, kChunkSize, kChunkData, kChunkDataEnd, kTrailer, kPassthrough };
  Result<std::string> on_head(const HttpRequestHead& head, std::vector<RequestSeen>& seen);

  std::string host_;
  uint16_t port_;
  std::vector<CredentialRule> rules_;
  State state_ = State::kHead;
  std::string buf_;         // unconsumed input
  uint64_t remaining_ = 0;  // kBody / kChunkData
  bool upgrade_ = false;    // the current request asked to upgrade
};

/// The header value for `rule` (Bearer/Basic applied).
std::string credential_header_value(const CredentialRule& rule);

}  // namespace sbx::net
