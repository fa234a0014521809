// The policy side of the guest's DNS stub: the agent forwards each query
// packet from 127.0.0.1:53 in the guest; sandboxd answers allowed names
// from its own resolver (after the address checks) and refuses denied ones,
// so a guest cannot even learn addresses of hosts it may not reach, and DNS
// cannot be used as a tunnel to arbitrary resolvers.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "net/address.h"
#include "net/dns_names.h"
#include "net/network_log.h"
#include "net/policy.h"
#include "net/resolver.h"

namespace sbx::net {

/// Largest query accepted (classic UDP size; EDNS can ask for more in the
/// answer, but questions are tiny).
inline constexpr size_t kMaxDnsQuery = 512;

inline constexpr uint16_t kDnsTypeA = 1;
inline constexpr uint16_t kDnsTypeAaaa = 28;

enum class DnsRcode : uint8_t { kNoError = 0, kFormErr = 1, kServFail = 2, kNxDomain = 3,
                                kNotImp = 4, kRefused = 5 };

/// A standard query with exactly one question.
struct DnsQuery {
  uint16_t id = 0;
  bool recursion_desired = false;
  std::string name;  ///< lower-case, no trailing dot, labels as sent
  uint16_t qtype = 0;
  uint16_t qclass = 0;
  /// The question section exactly as received, echoed in the answer.
  std::string question_wire;
};

/// Parses a query: header with QR=0, opcode 0, QDCOUNT=1, ANCOUNT=NSCOUNT=0;
/// the name as plain labels (compression pointers are refused: a question
/// never needs them and they are the classic loop/overread bug), at most 255
/// bytes; trailing sections (EDNS OPT) are ignored.
Result<DnsQuery> parse_dns_query(std::string_view packet);

/// Builds a response to `q`: the question echoed, `answers` as A/AAAA
/// records (only those matching q.qtype), RA set.
std::string build_dns_response(const DnsQuery& q, DnsRcode rcode,
                               const std::vector<IpAddress>& answers, uint32_t ttl = 60);

/// A minimal error response for a packet that did not parse (FORMERR if at
/// least the 12-byte header was there, else empty: nothing to answer).
std::string dns_error_response(std::string_view packet, DnsRcode rcode);

/// Answers guest DNS queries by policy.
class DnsResponder {
 public:
  /// `policy` is called once per query so policy edits apply at once.
  /// `log` may be null. `names`, when given, learns every address answered
  /// (see DnsNameCache); it must outlive the responder.
  DnsResponder(std::function<std::shared_ptr<const Policy>()> policy, Resolver& resolver,
               NetworkLog* log, DnsNameCache* names = nullptr)
      : policy_(std::move(policy)), resolver_(resolver), log_(log), names_(names) {}

  /// The response packet for `packet` from `sandbox` (empty: drop it).
  /// Denied names get NXDOMAIN; allowed names their public (or CIDR-allowed)
  /// addresses; names whose addresses are all denied get an empty NOERROR;
  /// resolver failures SERVFAIL; malformed queries FORMERR; other opcodes or
  /// classes REFUSED/NOTIMP. Every decision is logged as kind "dns".
  std::string answer(std::string_view sandbox, std::string_view packet);

 private:
  std::function<std::shared_ptr<const Policy>()> policy_;
  Resolver& resolver_;
  NetworkLog* log_;
  DnsNameCache* names_;
};

}  // namespace sbx::net
