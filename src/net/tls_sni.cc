#include "net/tls_sni.h"

#include <cstdint>

namespace sbx::net {

namespace {

// A cursor that never reads past its end; every getter reports failure.
struct Reader {
  std::string_view d;
  bool u8(uint32_t& v) {
    if (d.size() < 1) return false;
    v = static_cast<uint8_t>(d[0]);
    d.remove_prefix(1);
    return true;
  }
  bool u16(uint32_t& v) {
    if (d.size() < 2) return false;
    v = static_cast<uint32_t>(static_cast<uint8_t>(d[0])) << 8 | static_cast<uint8_t>(d[1]);
    d.remove_prefix(2);
    return true;
  }
  bool u24(uint32_t& v) {
    if (d.size() < 3) return false;
    v = static_cast<uint32_t>(static_cast<uint8_t>(d[0])) << 16 |
        static_cast<uint32_t>(static_cast<uint8_t>(d[1])) << 8 | static_cast<uint8_t>(d[2]);
    d.remove_prefix(3);
    return true;
  }
  bool bytes(size_t n, std::string_view& out) {
    if (d.size() < n) return false;
    out = d.substr(0, n);
    d.remove_prefix(n);
    return true;
  }
  bool skip(size_t n) {
    std::string_view ignored;
    return bytes(n, ignored);
  }
};

SniResult parse_client_hello(std::string_view body) {
  SniResult bad{SniStatus::kNotTls, {}};
  Reader r{body};
  uint32_t n = 0;
  if (!r.skip(2 + 32)) return bad;  // legacy_version, random
  if (!r.u8(n) || n > 32 || !r.skip(n)) return bad;  // session id
  if (!r.u16(n) || n < 2 || n % 2 || !r.skip(n)) return bad;  // cipher suites
  if (!r.u8(n) || n < 1 || !r.skip(n)) return bad;  // compression methods
  if (r.d.empty()) return {SniStatus::kNoSni, {}};  // no extensions at all
  std::string_view exts;
  if (!r.u16(n) || !r.bytes(n, exts)) return bad;
  Reader e{exts};
  while (!e.d.empty()) {
    uint32_t type = 0, len = 0;
    std::string_view ext;
    if (!e.u16(type) || !e.u16(len) || !e.bytes(len, ext)) return bad;
    if (type != 0) continue;  // server_name
    Reader s{ext};
    std::string_view list;
    if (!s.u16(n) || !s.bytes(n, list)) return bad;
    Reader l{list};
    while (!l.d.empty()) {
      uint32_t name_type = 0;
      std::string_view name;
      if (!l.u8(name_type) || !l.u16(n) || !l.bytes(n, name)) return bad;
      if (name_type == 0) {
        if (name.empty() || name.size() > 255) return bad;
        return {SniStatus::kFound, std::string(name)};
      }
    }
    return {SniStatus::kNoSni, {}};
  }
  return {SniStatus::kNoSni, {}};
}

}  // namespace

SniResult extract_sni(std::string_view data) {
  // Reassemble the handshake layer from consecutive handshake records.
  std::string hs;
  size_t pos = 0;
  uint32_t hello_len = 0;
  bool have_len = false;
  while (true) {
    if (have_len && hs.size() >= 4 + hello_len) break;
    if (data.size() - pos < 5) {
      if (data.size() - pos > 0 && static_cast<uint8_t>(data[pos]) != 22)
        return {SniStatus::kNotTls, {}};
      return {SniStatus::kNeedMore, {}};
    }
    auto type = static_cast<uint8_t>(data[pos]);
    auto major = static_cast<uint8_t>(data[pos + 1]);
    uint32_t rec_len = static_cast<uint32_t>(static_cast<uint8_t>(data[pos + 3])) << 8 |
                       static_cast<uint8_t>(data[pos + 4]);
    if (type != 22 || major != 3 || rec_len == 0 || rec_len > 16384 + 2048)
      return {SniStatus::kNotTls, {}};
    pos += 5;
    size_t avail = std::min<size_t>(rec_len, data.size() - pos);
    if (hs.size() + avail > kMaxClientHello) return {SniStatus::kNotTls, {}};
    hs.append(data.substr(pos, avail));
    if (avail < rec_len) {
      // The record is still arriving; we may already know enough to fail.
      if (hs.size() >= 1 && static_cast<uint8_t>(hs[0]) != 1) return {SniStatus::kNotTls, {}};
      return {SniStatus::kNeedMore, {}};
    }
    pos += rec_len;
    if (!have_len && hs.size() >= 4) {
      if (static_cast<uint8_t>(hs[0]) != 1) return {SniStatus::kNotTls, {}};  // client_hello
      Reader r{std::string_view(hs).substr(1)};
      r.u24(hello_len);
      if (hello_len > kMaxClientHello - 4) return {SniStatus::kNotTls, {}};
      have_len = true;
    }
  }
  return parse_client_hello(std::string_view(hs).substr(4, hello_len));
}

}  // namespace sbx::net
