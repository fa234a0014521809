#include "image/gzip_source.h"

#include <zlib.h>

#include <string>

namespace sbx::image {

bool is_gzip(std::string_view head) {
  return head.size() >= 2 && static_cast<unsigned char>(head[0]) == 0x1f &&
         static_cast<unsigned char>(head[1]) == 0x8b;
}

struct GzipSource::State {
  ByteSource& inner;
  uint64_t max_output;
  uint64_t produced = 0;
  z_stream z{};
  bool init = false;
  bool member_done = false;  // a member ended; another may follow
  bool eof = false;          // the inner source is exhausted
  char in[65536];
  explicit State(ByteSource& i, uint64_t m) : inner(i), max_output(m) {}
  ~State() {
    if (init) inflateEnd(&z);
  }
};

GzipSource::GzipSource(ByteSource& inner, uint64_t max_output)
    : st_(std::make_unique<State>(inner, max_output)) {}

GzipSource::~GzipSource() = default;

Result<size_t> GzipSource::read(char* buf, size_t n) {
  State& s = *st_;
  if (!s.init) {
    // 16 + MAX_WBITS: gzip wrapper only.
    if (inflateInit2(&s.z, 16 + MAX_WBITS) != Z_OK) return err("gzip: inflateInit2 failed");
    s.init = true;
  }
  if (n == 0) return size_t{0};
  s.z.next_out = reinterpret_cast<Bytef*>(buf);
  s.z.avail_out = static_cast<uInt>(std::min<size_t>(n, 1u << 30));
  while (s.z.avail_out == std::min<size_t>(n, 1u << 30)) {
    if (s.z.avail_in == 0 && !s.eof) {
      auto k = s.inner.read(s.in, sizeof s.in);
      if (!k) return k.error().wrap("gzip");
      if (*k == 0) s.eof = true;
      s.z.next_in = reinterpret_cast<Bytef*>(s.in);
      s.z.avail_in = static_cast<uInt>(*k);
    }
    if (s.member_done) {
      if (s.z.avail_in == 0 && s.eof) return size_t{0};
      if (s.z.avail_in == 0) continue;
      if (inflateReset(&s.z) != Z_OK) return err("gzip: inflateReset failed");
      s.member_done = false;
    }
    if (s.z.avail_in == 0 && s.eof) return err("gzip: the compressed stream ends early");
    int rc = inflate(&s.z, Z_NO_FLUSH);
    if (rc == Z_STREAM_END) {
      s.member_done = true;
    } else if (rc == Z_BUF_ERROR) {
      continue;  // needs more input
    } else if (rc != Z_OK) {
      return err(std::string("gzip: corrupt data (") + (s.z.msg ? s.z.msg : "inflate error") + ")");
    }
  }
  size_t got = std::min<size_t>(n, 1u << 30) - s.z.avail_out;
  s.produced += got;
  if (s.produced > s.max_output)
    return err("gzip: decompressed data exceeds " + std::to_string(s.max_output) +
               " bytes; refusing (a compression bomb?)");
  return got;
}

}  // namespace sbx::image
