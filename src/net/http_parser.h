// Bounded parsing of HTTP/1.x request heads as a forward/transparent proxy
// sees them. The input comes from the guest, so limits are hard and
// anything ambiguous (obsolete line folding, NULs, bare CR) is rejected
// rather than guessed at: request smuggling lives in such guesses.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"

namespace sbx::net {

/// Largest request head accepted (request line + headers + blank line).
inline constexpr size_t kMaxRequestHead = 64 * 1024;
/// Most header fields accepted.
inline constexpr size_t kMaxHeaders = 100;

/// A parsed request head.
struct HttpRequestHead {
  std::string method;
  std::string target;   ///< as sent: origin-form, absolute-form or authority-form
  std::string version;  ///< "HTTP/1.1" or "HTTP/1.0"
  std::vector<std::pair<std::string, std::string>> headers;  ///< in order
  size_t head_size = 0;  ///< bytes consumed, including the blank line

  /// First value of a header (name compared case-insensitively).
  std::optional<std::string> header(std::string_view name) const;
};

/// Parses a request head from the start of `buf`. nullopt: incomplete, read
/// more (only while buf.size() < kMaxRequestHead). Error: malformed or over
/// a limit; the connection should get a 400 and be closed.
Result<std::optional<HttpRequestHead>> parse_request_head(std::string_view buf);

/// A host and port as in CONNECT's authority-form.
struct HostPort {
  std::string host;  ///< IPv6 without brackets
  uint16_t port = 0;
  bool operator==(const HostPort&) const = default;
};

/// Parses "host:port", "[v6]:port", or "host" (then `default_port`, which
/// must be non-zero for a port to be optional).
Result<HostPort> parse_authority(std::string_view text, uint16_t default_port = 0);

/// An absolute-form URL as a forward proxy receives it: "http://host[:port]/p?q".
struct AbsoluteUrl {
  std::string scheme;  ///< lower-case; only "http" is accepted
  HostPort authority;
  std::string path;  ///< origin-form: "/p?q" ("/" when empty)
};
Result<AbsoluteUrl> parse_absolute_url(std::string_view url);

/// Serialises a request head with `target` replacing the original and hop-by-
/// hop proxy headers (Proxy-Connection, Proxy-Authorization, Connection,
/// Keep-Alive) dropped; adds "Connection: close" so one client connection
/// never carries a second request past the policy check.
std::string rewrite_request_head(const HttpRequestHead& head, std::string_view target);

/// ASCII case-insensitive equality (header names).
bool iequals(std::string_view a, std::string_view b);
/// `s` without HTTP's optional whitespace (spaces and tabs) at either end.
std::string_view trim_ows(std::string_view s);

}  // namespace sbx::net
