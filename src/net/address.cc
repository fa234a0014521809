#include "net/address.h"

#include <arpa/inet.h>

#include <cstring>

#include "base/strings.h"

namespace sbx::net {

IpAddress IpAddress::v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  IpAddress r;
  r.bytes[0] = a;
  r.bytes[1] = b;
  r.bytes[2] = c;
  r.bytes[3] = d;
  return r;
}

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), buf, sizeof buf);
  return buf;
}

std::optional<IpAddress> parse_ip(std::string_view text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
    std::string s(text);
    IpAddress a;
    a.v6 = true;
    if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) != 1) return std::nullopt;
    return a;
  }
  if (text.empty() || text.size() > 45) return std::nullopt;
  std::string s(text);
  IpAddress a;
  if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) return a;
  a.v6 = true;
  if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) return a;
  return std::nullopt;
}

std::optional<IpAddress> parse_ip_lenient(std::string_view text) {
  if (auto a = parse_ip(text)) return a;
  if (text.empty() || text.size() > 64) return std::nullopt;
  // inet_aton accepts 1-4 parts in decimal, octal or hex; that is exactly
  // the set of "names" the libc resolver turns into IPv4 without DNS.
  std::string s(text);
  if (!s.empty() && s.back() == '.') s.pop_back();
  in_addr in{};
  if (inet_aton(s.c_str(), &in) == 0) return std::nullopt;
  IpAddress a;
  std::memcpy(a.bytes.data(), &in, 4);
  return a;
}

IpAddress unmap(const IpAddress& a) {
  if (!a.v6) return a;
  const auto& b = a.bytes;
  auto zero = [&](int from, int to) {
    for (int i = from; i < to; ++i)
      if (b[i] != 0) return false;
    return true;
  };
  bool mapped = zero(0, 10) && b[10] == 0xff && b[11] == 0xff;
  // ::a.b.c.d (deprecated IPv4-compatible), but not :: or ::1 themselves.
  bool compat = zero(0, 12) && !(zero(12, 15) && b[15] <= 1);
  bool nat64 = b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && zero(4, 12);
  if (mapped || compat || nat64) return IpAddress::v4(b[12], b[13], b[14], b[15]);
  return a;
}

namespace {
bool prefix_match(const IpAddress& a, const IpAddress& base, int prefix) {
  int full = prefix / 8, rest = prefix % 8;
  for (int i = 0; i < full; ++i)
    if (a.bytes[i] != base.bytes[i]) return false;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a.bytes[full] & mask) == (base.bytes[full] & mask);
}
bool in(const IpAddress& a, const char* cidr_text) {
  auto c = parse_cidr(cidr_text);
  return c.ok() && c->contains(a);
}
}  // namespace

bool Cidr::contains(const IpAddress& addr) const {
  IpAddress a = unmap(addr);
  if (a.v6 != base.v6) return false;
  return prefix_match(a, base, prefix);
}

std::string Cidr::to_string() const {
  if (prefix == (base.v6 ? 128 : 32)) return base.to_string();
  return base.to_string() + "/" + std::to_string(prefix);
}

Result<Cidr> parse_cidr(std::string_view text) {
  std::string_view addr = text, len;
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    addr = text.substr(0, slash);
    len = text.substr(slash + 1);
    if (len.empty()) return err("missing prefix length");
  }
  auto ip = parse_ip(addr);
  if (!ip) return err("not an IP address: '" + std::string(addr) + "'");
  int max = ip->v6 ? 128 : 32;
  int prefix = max;
  if (!len.empty()) {
    if (len.size() > 3) return err("bad prefix length '" + std::string(len) + "'");
    auto n = parse_uint(len);
    if (!n || *n > static_cast<uint64_t>(max))
      return err("bad prefix length '" + std::string(len) + "'");
    prefix = static_cast<int>(*n);
  }
  Cidr c{*ip, prefix};
  // Host bits below the prefix must be zero.
  IpAddress masked{};
  masked.v6 = ip->v6;
  for (int i = 0; i < 16; ++i) {
    int bits = std::min(8, std::max(0, prefix - i * 8));
    uint8_t mask = bits == 0 ? 0 : static_cast<uint8_t>(0xff << (8 - bits));
    masked.bytes[i] = ip->bytes[i] & mask;
  }
  if (!(masked == *ip))
    return err("host bits set in '" + std::string(text) + "' (did you mean " +
               Cidr{masked, prefix}.to_string() + "?)");
  // ::ffff:10.0.0.0/104 is the same range as 10.0.0.0/8.
  if (ip->v6 && prefix >= 96) {
    IpAddress u = unmap(*ip);
    bool is_mapped = ip->bytes[10] == 0xff && ip->bytes[11] == 0xff;
    if (!u.v6 && is_mapped) return Cidr{u, prefix - 96};
  }
  return c;
}

AddressClass classify(const IpAddress& addr) {
  IpAddress a = unmap(addr);
  if (!a.v6) {
    if (in(a, "0.0.0.0/8")) return AddressClass::kUnspecified;
    if (in(a, "127.0.0.0/8")) return AddressClass::kLoopback;
    if (in(a, "10.0.0.0/8") || in(a, "172.16.0.0/12") || in(a, "192.168.0.0/16"))
      return AddressClass::kPrivate;
    if (in(a, "100.64.0.0/10")) return AddressClass::kCgnat;
    if (in(a, "169.254.0.0/16")) return AddressClass::kLinkLocal;
    if (in(a, "224.0.0.0/4")) return AddressClass::kMulticast;
    for (auto r : {"240.0.0.0/4", "192.0.0.0/24"})
      if (in(a, r)) return AddressClass::kReserved;
    for (auto r : {"192.0.2.0/24", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24"})
      if (in(a, r)) return AddressClass::kSpecialPurpose;
    return AddressClass::kPublic;
  }
  if (in(a, "::/128")) return AddressClass::kUnspecified;
  if (in(a, "::1/128")) return AddressClass::kLoopback;
  if (in(a, "fe80::/10")) return AddressClass::kLinkLocal;
  if (in(a, "fc00::/7")) return AddressClass::kUniqueLocal;
  if (in(a, "ff00::/8")) return AddressClass::kMulticast;
  // Site-local (deprecated), documentation, discard-only, remaining ::/96
  // and 6to4/Teredo (which can tunnel to arbitrary IPv4 destinations).
  for (auto r : {"fec0::/10", "2001:db8::/32", "100::/64", "::/96", "2002::/16",
                 "2001::/32"})
    if (in(a, r)) return AddressClass::kReserved;
  return AddressClass::kPublic;
}

const char* class_name(AddressClass c) {
  switch (c) {
    case AddressClass::kPublic: return "public";
    case AddressClass::kUnspecified: return "unspecified";
    case AddressClass::kLoopback: return "loopback";
    case AddressClass::kPrivate: return "private";
    case AddressClass::kCgnat: return "CGNAT";
    case AddressClass::kLinkLocal: return "link-local";
    case AddressClass::kUniqueLocal: return "unique-local";
    case AddressClass::kMulticast: return "multicast";
    case AddressClass::kReserved: return "reserved";
    case AddressClass::kSpecialPurpose: return "special-purpose";
  }
  return "?";
}

}  // namespace sbx::net
