#include "net/dns.h"

#include "net/hostname.h"

namespace sbx::net {

namespace {

uint16_t get16(std::string_view p, size_t at) {
  return static_cast<uint16_t>(static_cast<uint8_t>(p[at]) << 8 | static_cast<uint8_t>(p[at + 1]));
}
void put16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xff));
}
void put32(std::string& out, uint32_t v) {
  put16(out, static_cast<uint16_t>(v >> 16));
  put16(out, static_cast<uint16_t>(v & 0xffff));
}

}  // namespace

Result<DnsQuery> parse_dns_query(std::string_view p) {
  if (p.size() < 12) return err("DNS packet shorter than its header");
  if (p.size() > kMaxDnsQuery) return err("DNS query larger than 512 bytes");
  DnsQuery q;
  q.id = get16(p, 0);
  uint16_t flags = get16(p, 2);
  if (flags & 0x8000) return err("DNS packet is a response");
  if ((flags >> 11 & 0xf) != 0) return err("DNS opcode is not QUERY");
  q.recursion_desired = flags & 0x0100;
  if (get16(p, 4) != 1) return err("DNS query must have exactly one question");
  if (get16(p, 6) != 0 || get16(p, 8) != 0) return err("DNS query carries answers");
  size_t pos = 12;
  std::string name;
  while (true) {
    if (pos >= p.size()) return err("DNS name runs past the packet");
    auto len = static_cast<uint8_t>(p[pos]);
    if ((len & 0xc0) != 0) return err("compressed or extended label in DNS question");
    ++pos;
    if (len == 0) break;
    if (pos + len > p.size()) return err("DNS label runs past the packet");
    if (!name.empty()) name.push_back('.');
    name.append(p.substr(pos, len));
    if (name.size() > 253) return err("DNS name longer than 253 characters");
    pos += len;
  }
  if (pos + 4 > p.size()) return err("DNS question truncated");
  q.qtype = get16(p, pos);
  q.qclass = get16(p, pos + 2);
  q.question_wire = std::string(p.substr(12, pos + 4 - 12));
  for (auto& c : name)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  q.name = std::move(name);
  return q;
}

std::string build_dns_response(const DnsQuery& q, DnsRcode rcode,
                               const std::vector<IpAddress>& answers, uint32_t ttl) {
  std::vector<const IpAddress*> picked;
  if (rcode == DnsRcode::kNoError)
    for (const auto& a : answers)
      if ((q.qtype == kDnsTypeA && !a.v6) || (q.qtype == kDnsTypeAaaa && a.v6)) picked.push_back(&a);
  std::string out;
  put16(out, q.id);
  uint16_t flags = 0x8000 | 0x0080 | static_cast<uint16_t>(rcode);  // QR, RA
  if (q.recursion_desired) flags |= 0x0100;
  put16(out, flags);
  put16(out, 1);
  put16(out, static_cast<uint16_t>(picked.size()));
  put16(out, 0);
  put16(out, 0);
  out += q.question_wire;
  for (const auto* a : picked) {
    put16(out, 0xc00c);  // pointer to the question's name
    put16(out, a->v6 ? kDnsTypeAaaa : kDnsTypeA);
    put16(out, 1);
    put32(out, ttl);
    put16(out, a->v6 ? 16 : 4);
    out.append(reinterpret_cast<const char*>(a->bytes.data()), a->v6 ? 16 : 4);
  }
  return out;
}

std::string dns_error_response(std::string_view p, DnsRcode rcode) {
  if (p.size() < 12) return {};
  if (static_cast<uint8_t>(p[2]) & 0x80) return {};  // never answer a response
  std::string out(p.substr(0, 12));
  out[2] = static_cast<char>(0x80 | (p[2] & 0x79));  // QR, keep opcode + RD
  out[3] = static_cast<char>(0x80 | static_cast<uint8_t>(rcode));
  for (int i = 4; i < 12; ++i) out[i] = 0;
  return out;
}

std::string DnsResponder::answer(std::string_view sandbox, std::string_view packet) {
  auto q = parse_dns_query(packet);
  if (!q) {
    uint8_t opcode = packet.size() >= 3 ? (static_cast<uint8_t>(packet[2]) >> 3 & 0xf) : 0;
    return dns_error_response(packet, opcode != 0 ? DnsRcode::kNotImp : DnsRcode::kFormErr);
  }
  LogEntry e;
  e.sandbox = std::string(sandbox);
  e.kind = "dns";
  e.host = q->name;
  e.method = q->qtype == kDnsTypeA ? "A" : q->qtype == kDnsTypeAaaa ? "AAAA"
                                                                     : "TYPE" + std::to_string(q->qtype);
  e.finished = true;
  auto reply = [&](DnsRcode rc, const std::vector<IpAddress>& addrs, bool allowed,
                   std::string rule) {
    e.allowed = allowed;
    e.rule = std::move(rule);
    if (log_) log_->record(e);
    return build_dns_response(*q, rc, addrs);
  };
  if (q->qclass != 1) return reply(DnsRcode::kRefused, {}, false, "only class IN is answered");
  auto host = normalize_host(q->name);
  if (!host) return reply(DnsRcode::kNxDomain, {}, false, "invalid name: " + host.error().message);
  e.host = *host;
  auto policy = policy_();
  if (!policy) return reply(DnsRcode::kServFail, {}, false, "no policy loaded");
  Decision d = decide(*policy, sandbox, Target{*host, std::nullopt, 0});
  if (!d.allowed) return reply(DnsRcode::kNxDomain, {}, false, d.rule);
  if (q->qtype != kDnsTypeA && q->qtype != kDnsTypeAaaa)
    return reply(DnsRcode::kNoError, {}, true, d.rule);  // NODATA: MX, TXT... not relayed
  auto addrs = resolver_.resolve(*host);
  if (!addrs) {
    e.error = addrs.error().message;
    return reply(DnsRcode::kServFail, {}, true, d.rule);
  }
  std::vector<IpAddress> ok;
  std::string denied_rule;
  for (const auto& a : *addrs) {
    Decision ad = decide(*policy, sandbox, Target{*host, a, 0});
    if (ad.allowed) {
      ok.push_back(a);
    } else if (denied_rule.empty()) {
      denied_rule = ad.rule;
    }
  }
  if (ok.empty()) return reply(DnsRcode::kNoError, {}, false, denied_rule);
  if (names_) names_->remember(sandbox, *host, ok);
  return reply(DnsRcode::kNoError, ok, true, d.rule);
}

}  // namespace sbx::net
