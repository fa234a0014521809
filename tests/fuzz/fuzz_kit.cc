// kit.yaml parsing: kits come from users and downloads. Whatever the bytes,
// the parser answers with a Kit or errors naming the file and a line, never
// crashes, and a Kit it accepts keeps the promises its users rely on.
#include <cstdint>
#include <string>
#include <string_view>

#include "base/strings.h"
#include "fuzz_check.h"
#include "kit/install_script.h"
#include "kit/kit_parser.h"
#include "kit/secret_patterns.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sbx::kit;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto k = parse_kit(in, "fuzz.yaml");
  if (!k) {
    const std::string& m = k.error().message;
    FUZZ_CHECK(sbx::starts_with(m, "fuzz.yaml:") || sbx::starts_with(m, "fuzz.yaml: "));
    FUZZ_CHECK(sbx::split(m, '\n').size() <= kMaxKitErrors + 1);
  } else {
    FUZZ_CHECK(valid_kit_name(k->name));
    FUZZ_CHECK(k->kind == "agent" || k->kind == "sandbox");
    FUZZ_CHECK(!k->entry.empty() && k->entry.size() <= 64);
    FUZZ_CHECK(k->install.size() <= 64 && k->files.size() <= 64);
    for (auto& h : k->host_config) FUZZ_CHECK(!secret_name_reason(h.path).has_value());
    FUZZ_CHECK(install_script(*k).ok());
    // Deterministic: the same bytes give the same kit.
    auto again = parse_kit(in, "fuzz.yaml");
    FUZZ_CHECK(again.ok() && again->entry == k->entry && again->env == k->env);
  }
  (void)secret_content_reason(in);
  (void)secret_name_reason(in);
  return 0;
}
