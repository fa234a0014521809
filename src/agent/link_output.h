// Encoded frames waiting to be written to the agent link. Nothing ever blocks
// on the link: frames are appended here and written when the fd takes them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "proto/frame.h"

namespace sbx::agent {

/// The link's output buffer.
class LinkOutput {
 public:
  /// Stop reading children and sockets once this much output waits: the
  /// buffer stays bounded and they feel backpressure.
  static constexpr size_t kHighWater = 256u << 10;
  /// Stop reading the link itself past this (only small replies are
  /// unbounded by credit: ACKs, WINDOWs, control replies).
  static constexpr size_t kHardCap = 8u << 20;

  /// Appends one encoded frame.
  void send(uint32_t channel, proto::FrameType type, std::string_view payload) {
    proto::encode_into(out_, channel, type, payload);
  }
  /// Bytes not yet written.
  size_t pending() const { return out_.size() - off_; }
  /// Below the high-water mark: channels may produce more.
  bool has_room() const { return pending() < kHighWater; }
  /// Below the hard cap: the link may be read.
  bool below_cap() const { return pending() < kHardCap; }
  /// Writes to the non-blocking `fd` until done or it would block. An error
  /// (or a write of 0) leaves the rest pending.
  Result<void> flush(int fd);
  /// Forgets everything not yet written (a new host session).
  void clear() {
    out_.clear();
    off_ = 0;
  }

 private:
  std::string out_;
  size_t off_ = 0;  ///< bytes of out_ already written
};

}  // namespace sbx::agent
