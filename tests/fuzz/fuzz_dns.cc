// DNS query parsing and the responder end to end (static resolver, fixed
// policy), as the guest's DNS stub forwards raw packets.
#include <cstdint>
#include <memory>
#include <string_view>

#include "fuzz_check.h"
#include "net/dns.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sbx::net;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto q = parse_dns_query(in);
  if (q.ok()) {
    FUZZ_CHECK(q->name.size() <= 253);
    auto resp = build_dns_response(*q, DnsRcode::kNoError, {IpAddress::v4(1, 2, 3, 4)});
    FUZZ_CHECK(resp.size() >= 12 + q->question_wire.size());
    FUZZ_CHECK(static_cast<uint8_t>(resp[0]) == q->id >> 8);
  }
  auto e = dns_error_response(in, DnsRcode::kFormErr);
  FUZZ_CHECK(e.empty() || e.size() == 12);

  StaticResolver resolver;
  resolver.add("a.example.com", {IpAddress::v4(93, 184, 216, 34), IpAddress::v4(10, 0, 0, 1)});
  auto policy = std::make_shared<const Policy>(make_policy(
      Preset::kBalanced, {}, {Rule{1, "", Action::kAllow, *parse_resource("*.example.com")}}));
  DnsResponder dns([&] { return policy; }, resolver, nullptr);
  auto answer = dns.answer("fuzz", in);
  if (!answer.empty()) FUZZ_CHECK(answer.size() >= 12);
  return 0;
}
