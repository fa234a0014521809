#include "agent/link_output.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sbx::agent {

Result<void> LinkOutput::flush(int fd) {
  Result<void> result = ok();
  while (pending() > 0) {
    ssize_t n = write(fd, out_.data() + off_, pending());
    if (n > 0) {
      off_ += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    result = err(n < 0 ? strerror(errno) : "no progress");
    break;
  }
  // Compact now and then, so a slow link does not make the buffer grow.
  if (off_ == out_.size()) {
    clear();
  } else if (off_ > (1u << 20)) {
    out_.erase(0, off_);
    off_ = 0;
  }
  return result;
}

}  // namespace sbx::agent
