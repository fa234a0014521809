// SNI extraction from a TLS ClientHello, whole and in every split the
// first byte selects (as reads arrive).
#include <cstdint>
#include <string_view>

#include "fuzz_check.h"
#include "net/tls_sni.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sbx::net;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto full = extract_sni(in);
  if (full.status == SniStatus::kFound) {
    FUZZ_CHECK(!full.host.empty() && full.host.size() <= 255);
    FUZZ_CHECK(in.find(full.host) != std::string_view::npos);
  }
  // A prefix never finds a different answer than the whole.
  if (!in.empty()) {
    size_t cut = static_cast<uint8_t>(in[0]) * in.size() / 256;
    auto part = extract_sni(in.substr(0, cut));
    if (part.status == SniStatus::kFound) {
      FUZZ_CHECK(full.status == SniStatus::kFound && full.host == part.host);
    }
  }
  return 0;
}
