// Server Name Indication from a TLS ClientHello, for transparent port-443
// connections: the proxy decides on the name the client says it wants
// before any byte goes upstream. Bounded and allocation-light: the
// ClientHello may span several TLS records and reads, so callers feed the
// bytes received so far and ask again.
#pragma once

#include <string>
#include <string_view>

namespace sbx::net {

/// Most handshake bytes buffered while looking for the SNI. Real
/// ClientHellos are < 2 KiB (post-quantum key shares push them to ~1.8 KiB).
inline constexpr size_t kMaxClientHello = 16 * 1024;

enum class SniStatus {
  kNeedMore,  ///< a valid prefix; read more bytes and call again
  kFound,     ///< `host` holds the server name (unvalidated bytes)
  kNoSni,     ///< a complete ClientHello without a server_name
  kNotTls,    ///< not a TLS ClientHello, malformed, or over the limit
};

struct SniResult {
  SniStatus status = SniStatus::kNeedMore;
  std::string host;
};

/// Looks for the SNI in `data`, the bytes received from the client so far
/// (from the start of the connection).
SniResult extract_sni(std::string_view data);

}  // namespace sbx::net
