#include "daemon/guest_stream.h"

#include <cstring>

namespace sbx::daemon {

using K = GuestChannel::Event::Kind;

Result<size_t> GuestStream::read(char* buf, size_t n) {
  if (n == 0) return size_t{0};
  while (pending_pos_ >= pending_.size()) {
    if (eof_) return size_t{0};
    if (!error_.empty()) return err(error_);
    auto e = ch_->next_event();
    switch (e.kind) {
      case K::kStdout:
        pending_ = std::move(e.data);
        pending_pos_ = 0;
        break;
      case K::kEof:
      case K::kClosed:
      case K::kExit:
        eof_ = true;
        break;
      case K::kStderr:
        // These channels carry one byte stream; DATA_ERR is a guest bug.
        error_ = "unexpected DATA_ERR on a byte-stream channel";
        abort();
        break;
      case K::kError:
        error_ = e.data.empty() ? "guest channel failed" : e.data;
        break;
    }
  }
  size_t k = std::min(n, pending_.size() - pending_pos_);
  std::memcpy(buf, pending_.data() + pending_pos_, k);
  pending_pos_ += k;
  // Credit goes back as bytes leave our buffer, so the guest can never
  // have more than one window of data queued here.
  ch_->consumed(k);
  return k;
}

Result<void> GuestStream::write(std::string_view data) { return ch_->write_stdin(data); }

void GuestStream::shutdown_write() { (void)ch_->close_stdin(); }

void GuestStream::abort() {
  if (aborted_.exchange(true)) return;
  ch_->abort();
}

}  // namespace sbx::daemon
