// Streaming gzip decompression (zlib) as a ByteSource: image layers are
// often gzip-compressed tars, decompressed on the fly and never stored.
#pragma once

#include <memory>

#include "image/byte_source.h"

namespace sbx::image {

/// Whether `head` (the first bytes of a stream) starts with the gzip magic.
bool is_gzip(std::string_view head);

/// Decompresses a gzip stream (concatenated members allowed) read from
/// `inner`. Output is bounded by `max_output` so a small bomb cannot fill
/// the disk unnoticed.
class GzipSource : public ByteSource {
 public:
  GzipSource(ByteSource& inner, uint64_t max_output);
  ~GzipSource() override;
  GzipSource(const GzipSource&) = delete;
  GzipSource& operator=(const GzipSource&) = delete;
  Result<size_t> read(char* buf, size_t n) override;

 private:
  struct State;
  std::unique_ptr<State> st_;
};

}  // namespace sbx::image
