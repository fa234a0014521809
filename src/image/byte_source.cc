#include "image/byte_source.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace sbx::image {

Result<size_t> StringSource::read(char* buf, size_t n) {
  size_t k = std::min(n, data_.size() - pos_);
  std::memcpy(buf, data_.data() + pos_, k);
  pos_ += k;
  return k;
}

Result<size_t> FileRangeSource::read(char* buf, size_t n) {
  size_t want = static_cast<size_t>(std::min<uint64_t>(n, left_));
  if (want == 0) return size_t{0};
  for (;;) {
    ssize_t k = ::pread(fd_, buf, want, static_cast<off_t>(pos_));
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) return errno_error("read " + what_);
    if (k == 0) return err("read " + what_ + ": the file ends early (truncated archive?)");
    pos_ += static_cast<uint64_t>(k);
    left_ -= static_cast<uint64_t>(k);
    return static_cast<size_t>(k);
  }
}

Result<size_t> HashingSource::read(char* buf, size_t n) {
  auto k = inner_.read(buf, n);
  if (!k) return k;
  sha_.update(std::string_view(buf, *k));
  bytes_ += *k;
  return k;
}

Result<void> HashingSource::drain() {
  char buf[65536];
  for (;;) {
    auto k = read(buf, sizeof buf);
    if (!k) return k.error();
    if (*k == 0) return ok();
  }
}

}  // namespace sbx::image
