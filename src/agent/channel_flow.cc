#include "agent/channel_flow.h"

#include <cerrno>

namespace sbx::agent {

bool ChannelFlow::receive(uint64_t n) {
  if (outstanding_ + n > proto::kInitialWindow) return false;
  outstanding_ += n;
  return true;
}

WriteOutcome ChannelFlow::write_input(int fd, WriteFn write_fn) {
  WriteOutcome r;
  while (!input_.empty()) {
    ssize_t n = write_fn(fd, input_.data(), input_.size());
    if (n > 0) {
      r.written += static_cast<uint64_t>(n);
      input_.erase(0, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    r.failed = true;
    r.error = n < 0 ? errno : 0;
    break;
  }
  return r;
}

uint64_t ChannelFlow::discard_input() {
  uint64_t n = input_.size();
  input_.clear();
  return n;
}

void ChannelFlow::grant(uint64_t n) {
  send_credit_ = send_credit_ + n < kMaxCredit ? send_credit_ + n : kMaxCredit;
}

}  // namespace sbx::agent
