// DNS over the agent link: a DATAGRAM frame's payload from the guest, as
// AgentLink decodes it and EgressService answers it (the DNS responder on
// the body, the reply framed with the query's tag).
#include <cstdint>
#include <memory>
#include <string_view>

#include "fuzz_check.h"
#include "net/dns.h"
#include "net/dns_names.h"
#include "proto/frame.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sbx;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto d = proto::decode_datagram(in);
  if (!d.ok()) {
    FUZZ_CHECK(in.size() < 4 || in.size() - 4 > proto::kMaxDatagram);
    return 0;
  }
  FUZZ_CHECK(d->body.size() == in.size() - 4 && d->body.size() <= proto::kMaxDatagram);
  FUZZ_CHECK(proto::encode_datagram(d->tag, d->body) == in);

  net::StaticResolver resolver;
  resolver.add("a.example.com", {net::IpAddress::v4(93, 184, 216, 34)});
  auto policy = std::make_shared<const net::Policy>(net::make_policy(
      net::Preset::kDenyAll, {},
      {net::Rule{1, "", net::Action::kAllow, *net::parse_resource("a.example.com")}}));
  net::DnsNameCache names;
  net::DnsResponder dns([&] { return policy; }, resolver, nullptr, &names);
  std::string reply = dns.answer("fuzz", d->body);
  if (reply.empty()) return 0;
  // The reply travels back the same way; the guest's stub must accept it.
  auto back = proto::decode_datagram(proto::encode_datagram(d->tag, reply));
  FUZZ_CHECK(back.ok() && back->tag == d->tag && back->body == reply);
  return 0;
}
