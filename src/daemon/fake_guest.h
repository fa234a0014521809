// Test seam: the guest end of an agent link on a socketpair, driven by the
// test with raw frames (as a hostile guest would), for AgentLink's guest-open
// path, GuestStream and the egress service. Not part of sandboxd.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/fd.h"
#include "base/log.h"
#include "daemon/agent_link.h"
#include "proto/frame.h"

namespace sbx::daemon::testing {

class FakeGuest {
 public:
  explicit FakeGuest(Fd fd) : fd_(std::move(fd)) {}
  /// Answers the daemon's HELLO. False if the socket closed first.
  bool handshake();
  /// Writes one frame (false if the socket is gone).
  bool send(uint32_t channel, proto::FrameType type, std::string_view payload);
  /// The next frame from the daemon; a CLOSE on channel 0 with payload "eof"
  /// when the socket closed, or "timeout" when nothing came within
  /// read_timeout() (so that a daemon that goes silent fails a test
  /// instead of hanging it).
  proto::Frame next();
  /// The next frame that is not a WINDOW (credit is not what most tests
  /// look at); WINDOW bytes seen on the way are added to window_bytes().
  proto::Frame next_non_window();
  uint64_t window_bytes() const { return window_bytes_; }
  /// Opens an egress channel and returns the daemon's answer frame.
  proto::Frame open_egress(uint32_t channel, std::string_view payload);
  /// Collects DATA on `channel` (returning its credit) until EOF or CLOSE on
  /// it; `closed` tells which ended it.
  std::string read_until_end(uint32_t channel, bool* closed = nullptr);
  /// Collects DATA on `channel` (returning its credit) until at least `n`
  /// bytes came, or the channel or socket ended.
  std::string read_at_least(uint32_t channel, size_t n);
  /// Skips frames until CLOSE on `channel` (false if the socket ended first).
  bool wait_close(uint32_t channel);

  // --- For the hostile-guest tests (tests/security): misbehaving on purpose.

  /// Writes `bytes` as they are, frames or not (false if the socket is gone).
  bool raw(std::string_view bytes);
  /// How long handshake() and next() wait for the daemon's next bytes.
  void set_read_timeout(std::chrono::milliseconds t) { read_timeout_ = t; }
  std::chrono::milliseconds read_timeout() const { return read_timeout_; }

 private:
  /// One read of the socket within read_timeout_: bytes read, 0 on EOF or
  /// error, -1 on timeout.
  ssize_t read_chunk(char* buf, size_t size);

  Fd fd_;
  proto::FrameDecoder decoder_;
  uint64_t window_bytes_ = 0;
  std::chrono::milliseconds read_timeout_{std::chrono::seconds(30)};
};

/// An AgentLink whose other end is a FakeGuest.
struct LinkPair {
  std::shared_ptr<AgentLink> link;
  std::unique_ptr<FakeGuest> guest;
  LinkPair() = default;
  LinkPair(LinkPair&&) = default;
  LinkPair& operator=(LinkPair&&) = default;
  ~LinkPair();
};
/// Connects a link to a fresh fake guest (handshake done). Empty link on failure.
LinkPair connect_fake_guest(Logger& log);

/// `ch.next_event()`, but a channel that stays silent for `limit` is aborted
/// (its event is then kError "aborted") and `*timed_out` is set.
GuestChannel::Event next_event_within(GuestChannel& ch, std::chrono::milliseconds limit,
                                      bool* timed_out);

/// The first guest-opened channel id.
inline constexpr uint32_t kGuestChannel = proto::kGuestChannelBit | 1;

}  // namespace sbx::daemon::testing
