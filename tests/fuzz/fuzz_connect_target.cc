// CONNECT authority-form, absolute URLs and proxy URLs from the environment.
#include <cstdint>
#include <string_view>

#include "fuzz_check.h"
#include "net/http_parser.h"
#include "net/resolver.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sbx::net;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  for (uint16_t dflt : {uint16_t{0}, uint16_t{443}}) {
    auto hp = parse_authority(in, dflt);
    if (hp.ok()) {
      FUZZ_CHECK(!hp->host.empty());
      FUZZ_CHECK(hp->port != 0);
      FUZZ_CHECK(hp->host.find_first_of(" /@\r\n") == std::string::npos);
    }
  }
  if (auto u = parse_absolute_url(in); u.ok()) {
    FUZZ_CHECK(!u->path.empty() && u->path[0] == '/');
    FUZZ_CHECK(u->authority.port != 0);
  }
  if (auto p = parse_proxy_url(in); p.ok()) FUZZ_CHECK(p->port != 0);
  return 0;
}
