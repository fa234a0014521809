// Copies bytes both ways between two streams: the one relay behind the
// egress proxy (guest <-> upstream), published ports (host client <-> guest)
// and exec sessions (API client <-> exec channel).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "net/client_stream.h"

namespace sbx::net {

/// One relay between `a` and `b`. EOF in one direction is passed on as a
/// half-close while the other direction keeps flowing; an error in either
/// tears both streams down. Memory is bounded by one buffer per direction:
/// a peer that stops reading stalls its direction only (blocking write),
/// never grows a queue.
class Relay {
 public:
  static constexpr size_t kDefaultBuffer = 64 * 1024;

  /// What one direction carried.
  struct Direction {
    uint64_t bytes = 0;  ///< bytes written to the far side
    std::string error;   ///< the read or write error that ended it, if any
  };
  struct Stats {
    Direction a_to_b;
    Direction b_to_a;
    bool cancelled = false;  ///< cancel() was called
  };

  /// Both streams must outlive run(). `buffer` is per direction.
  Relay(ClientStream& a, ClientStream& b, size_t buffer = kDefaultBuffer)
      : a_(a), b_(b), buffer_(buffer == 0 ? kDefaultBuffer : buffer) {}
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  /// Copies until both directions have ended (a->b on a helper thread,
  /// b->a on the caller's), then returns what each carried.
  Stats run();
  /// From any thread, before or during run(): aborts both streams, so run()
  /// returns promptly. Idempotent.
  void cancel();

 private:
  void pump(ClientStream& from, ClientStream& to, Direction& d);
  void teardown();

  ClientStream& a_;
  ClientStream& b_;
  size_t buffer_;
  std::atomic<bool> cancelled_{false};
  std::atomic<bool> torn_down_{false};
};

}  // namespace sbx::net
