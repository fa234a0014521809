// The guest's OPEN for an egress channel, as AgentLink::guest_open and
// EgressService take it: open_kind, then parse_egress_open, then the
// transparent destination as an address the proxy decides on and dials.
#include <cstdint>
#include <string_view>

#include "fuzz_check.h"
#include "net/address.h"
#include "proto/messages.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sbx;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)proto::open_kind(in);
  auto r = proto::parse_egress_open(in);
  if (!r.ok()) return 0;
  FUZZ_CHECK(r->mode == "forward" || r->mode == "transparent");
  if (r->mode == "transparent") {
    FUZZ_CHECK(r->port != 0);
    FUZZ_CHECK(!r->ip.empty() && r->ip.size() <= 45);
    // The daemon refuses an address it cannot parse: whatever the decoder
    // accepts must be one, and print back as an address of the same family.
    auto ip = net::parse_ip(r->ip);
    FUZZ_CHECK(ip.has_value());
    auto again_ip = net::parse_ip(ip->to_string());
    FUZZ_CHECK(again_ip.has_value() && *again_ip == *ip);
  }
  // What the agent sends is what the daemon reads back.
  auto again = proto::parse_egress_open(proto::to_json(*r));
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->mode == r->mode && again->port == r->port && again->ip == r->ip);
  return 0;
}
