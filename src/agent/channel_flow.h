// Flow control of one agent-link channel, in both directions: what the host
// sent and we have not credited back, the host's bytes waiting to be written
// locally (with the host's EOF), and the credit we may still spend on DATA.
// Exec and TCP channels follow the same rules (docs/protocol.md).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "proto/frame.h"

namespace sbx::agent {

/// How one write call puts bytes into an fd: write(2), or send(2) with
/// MSG_NOSIGNAL for sockets.
using WriteFn = ssize_t (*)(int fd, const void* data, size_t len);

/// What ChannelFlow::write_input() achieved.
struct WriteOutcome {
  /// Bytes written (and removed from the input buffer).
  uint64_t written = 0;
  /// The fd refused the rest: errno of the failed write, or 0 when a write
  /// made no progress. Unset when the buffer drained or the fd would block.
  bool failed = false;
  int error = 0;
};

/// Credit and buffering of one channel.
class ChannelFlow {
 public:
  /// Credit above this is clamped (a hostile WINDOW flood cannot overflow).
  static constexpr uint64_t kMaxCredit = uint64_t{1} << 40;

  // Host -> local.

  /// Counts `n` bytes of host DATA against the window the host holds.
  /// False (nothing counted) when they exceed it: a protocol violation.
  bool receive(uint64_t n);
  /// Queues host bytes for writing.
  void buffer(std::string_view data) { input_.append(data); }
  bool has_input() const { return !input_.empty(); }
  size_t input_size() const { return input_.size(); }
  /// Writes buffered input to `fd` until it is drained, the fd would block,
  /// or a write fails; what was written leaves the buffer.
  WriteOutcome write_input(int fd, WriteFn write_fn);
  /// Drops the buffered input (it has nowhere to go); returns its size.
  uint64_t discard_input();
  /// `n` bytes are credited back to the host (WINDOW): no longer outstanding.
  void credited(uint64_t n) { outstanding_ -= n < outstanding_ ? n : outstanding_; }
  /// Host bytes not yet credited back.
  uint64_t outstanding() const { return outstanding_; }
  /// The host sent EOF.
  void set_input_eof() { input_eof_ = true; }
  bool input_eof() const { return input_eof_; }

  // Local -> host.

  /// The host's WINDOW: more credit, clamped at kMaxCredit.
  void grant(uint64_t n);
  /// Bytes of DATA we may still send.
  uint64_t send_credit() const { return send_credit_; }
  /// The most we may read for one DATA frame of at most `chunk` bytes.
  size_t read_limit(size_t chunk) const {
    return send_credit_ < chunk ? static_cast<size_t>(send_credit_) : chunk;
  }
  /// `n` bytes were sent as DATA.
  void spend(uint64_t n) { send_credit_ -= n < send_credit_ ? n : send_credit_; }

 private:
  std::string input_;
  bool input_eof_ = false;
  uint64_t outstanding_ = 0;
  uint64_t send_credit_ = proto::kInitialWindow;
};

}  // namespace sbx::agent
