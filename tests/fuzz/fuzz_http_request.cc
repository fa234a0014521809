// The proxy's HTTP/1.x request-head parser, plus what the proxy does with
// an accepted head (absolute-form URL, rewrite). A rewritten head must
// itself parse: otherwise the proxy would forward something it rejects.
#include <cstdint>
#include <string_view>

#include "fuzz_check.h"
#include "net/http_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sbx::net;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto r = parse_request_head(in);
  if (!r.ok() || !r->has_value()) return 0;
  const HttpRequestHead& h = **r;
  FUZZ_CHECK(h.head_size <= in.size() && h.head_size <= kMaxRequestHead);
  FUZZ_CHECK(h.headers.size() <= kMaxHeaders);
  (void)h.header("host");
  std::string target = h.target;
  if (h.method == "CONNECT") {
    if (auto hp = parse_authority(h.target); hp.ok()) FUZZ_CHECK(hp->port != 0);
    return 0;
  }
  if (auto u = parse_absolute_url(h.target); u.ok()) target = u->path;
  auto out = rewrite_request_head(h, target);
  if (h.headers.size() < kMaxHeaders && out.size() < kMaxRequestHead) {
    auto again = parse_request_head(out);
    FUZZ_CHECK(again.ok() && again->has_value());
    FUZZ_CHECK((*again)->target == target);
  }
  return 0;
}
