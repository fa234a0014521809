// IP addresses, CIDR ranges and their classification. The egress proxy must
// never let a guest reach the host's loopback, the LAN or cloud metadata
// endpoints by accident, so every address is classified before a connect.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace sbx::net {

/// An IPv4 or IPv6 address. IPv4 lives in bytes[0..3].
struct IpAddress {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};

  bool operator==(const IpAddress&) const = default;
  /// Canonical text ("10.0.0.1", "::1"); no brackets.
  std::string to_string() const;
  /// Builds an IPv4 address from four octets.
  static IpAddress v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d);
};

/// Parses a canonical literal: dotted-quad IPv4 or RFC 4291 IPv6, optionally
/// in brackets ("[::1]"). Zone ids ("fe80::1%eth0") are rejected.
std::optional<IpAddress> parse_ip(std::string_view text);

/// Parses what getaddrinfo/inet_aton would also accept as an IPv4 address
/// ("127.1", "0x7f000001", "2130706433", "0177.0.0.1"). A host name of that
/// shape is an IP literal in disguise and must be treated as one, not as a
/// domain name.
std::optional<IpAddress> parse_ip_lenient(std::string_view text);

/// If `a` is an IPv6 address embedding IPv4 (IPv4-mapped ::ffff:a.b.c.d,
/// IPv4-compatible ::a.b.c.d, NAT64 64:ff9b::/96), the IPv4 address;
/// otherwise `a` unchanged. Matching and classification use this form, so
/// "::ffff:127.0.0.1" counts as loopback.
IpAddress unmap(const IpAddress& a);

/// An address range such as 10.0.0.0/8 or fc00::/7.
struct Cidr {
  IpAddress base;  ///< host bits cleared
  int prefix = 0;

  bool operator==(const Cidr&) const = default;
  /// Whether `a` (after unmap) lies in this range.
  bool contains(const IpAddress& a) const;
  /// "10.0.0.0/8"; a single address prints without the suffix.
  std::string to_string() const;
};

/// Parses "a.b.c.d[/n]" or "v6[/n]" (a bare address is a /32 or /128).
/// Host bits set below the prefix are an error ("10.0.0.1/8"), as they
/// usually mean a typo. IPv4-mapped IPv6 ranges are normalised to IPv4.
Result<Cidr> parse_cidr(std::string_view text);

/// What kind of destination an address is.
enum class AddressClass {
  kPublic,
  kUnspecified,  ///< 0.0.0.0/8, ::
  kLoopback,     ///< 127/8, ::1
  kPrivate,      ///< RFC 1918
  kCgnat,        ///< 100.64/10 (RFC 6598)
  kLinkLocal,    ///< 169.254/16 (incl. cloud metadata), fe80::/10
  kUniqueLocal,  ///< fc00::/7
  kMulticast,    ///< 224/4, ff00::/8
  kReserved,     ///< 240/4 incl. broadcast, 192.0.0/24, 6to4, Teredo, ...
  /// IPv4 documentation (TEST-NET-1/2/3) and benchmarking (198.18/15)
  /// ranges. Not globally routed, but not the host's or its LAN's services
  /// either: fake-IP DNS setups and registry mirrors (this project's CI
  /// among them) answer with such addresses. Treated as public by the
  /// address gate; the name's policy decision still applies.
  kSpecialPurpose,
};

/// Classifies `a` (after unmap).
AddressClass classify(const IpAddress& a);
/// Short name: "public", "loopback", "private", ...
const char* class_name(AddressClass c);
/// True for addresses the address gate lets through without a CIDR rule:
/// kPublic and kSpecialPurpose.
inline bool is_public(const IpAddress& a) {
  auto c = classify(a);
  return c == AddressClass::kPublic || c == AddressClass::kSpecialPurpose;
}

}  // namespace sbx::net
