// Image layer tars (ustar, pax, GNU long names), optionally gzip-compressed,
// as `sbx template load` reads them from an untrusted archive. Whatever the
// bytes, the reader must stay bounded and hand out only paths that stay
// below the root.
#include <cstdint>
#include <optional>
#include <string_view>

#include "fuzz_check.h"
#include "image/gzip_source.h"
#include "image/tar_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sbx::image;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  StringSource raw(in);
  std::optional<GzipSource> gz;
  if (is_gzip(in)) gz.emplace(raw, 8 << 20);
  ByteSource& src = gz ? static_cast<ByteSource&>(*gz) : raw;
  TarLimits lim;
  lim.max_entries = 1000;
  lim.max_ext_header = 64 << 10;
  lim.max_path = 1024;
  lim.max_components = 64;
  TarReader tr(src, lim);
  char buf[4096];
  for (size_t n = 0;; ++n) {
    auto e = tr.next();
    if (!e || !*e) break;
    FUZZ_CHECK(n < lim.max_entries);
    const TarEntry& t = **e;
    FUZZ_CHECK(t.path.size() <= lim.max_path);
    FUZZ_CHECK(t.path.empty() || (t.path.front() != '/' && t.path.back() != '/'));
    FUZZ_CHECK(t.path.find("//") == std::string::npos);
    FUZZ_CHECK(("/" + t.path + "/").find("/../") == std::string::npos);
    FUZZ_CHECK(("/" + t.path + "/").find("/./") == std::string::npos);
    FUZZ_CHECK(t.path.find('\0') == std::string::npos);
    FUZZ_CHECK(t.mode <= 07777);
    if (t.type == TarType::kHardlink) {
      FUZZ_CHECK(!t.link.empty() && t.link.front() != '/');
      FUZZ_CHECK(("/" + t.link + "/").find("/../") == std::string::npos);
    }
    if (t.type != TarType::kFile) FUZZ_CHECK(t.size == 0);
    uint64_t got = 0;
    for (;;) {
      auto k = tr.read_data(buf, sizeof buf);
      if (!k || *k == 0) break;
      got += *k;
      FUZZ_CHECK(got <= t.size);
    }
  }
  return 0;
}
