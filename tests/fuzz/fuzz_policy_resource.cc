// Policy resource parsing (the text users and kits type) and decisions on
// hostile host names. Accepted resources must round-trip through text.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "net/hostname.h"
#include "net/policy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sbx::net;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto list = parse_resource_list(in); list.ok()) {
    for (const auto& r : *list) {
      auto again = parse_resource(r.to_string());
      FUZZ_CHECK(again.ok());
      FUZZ_CHECK(*again == r);
    }
  }
  if (auto h = normalize_host(in); h.ok()) {
    auto again = normalize_host(*h);
    FUZZ_CHECK(again.ok() && *again == *h);  // idempotent
  }
  static const Policy policy = make_policy(
      Preset::kBalanced, {}, {Rule{1, "", Action::kDeny, *parse_resource("*.evil.org")}});
  auto d = decide(policy, "fuzz", Target{std::string(in), std::nullopt, 443});
  FUZZ_CHECK(!d.rule.empty());
  // Only a valid name or an address can ever be allowed.
  if (d.allowed) FUZZ_CHECK(normalize_host(in).ok() || parse_ip_lenient(in).has_value());
  return 0;
}
