// A client for QEMU's machine protocol (QMP) over a unix socket.
//
// QEMU is semi-trusted (it runs guest-influenced code), so replies are read
// with bounded line lengths, bounded JSON nesting and timeouts.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/fd.h"
#include "base/result.h"

namespace sbx::vm {

/// One QMP connection. Movable, not copyable; closes the socket on
/// destruction. Not thread-safe: one caller at a time.
class QmpClient {
 public:
  /// Longest accepted line (one JSON message) from QEMU.
  static constexpr size_t kMaxLine = 1 << 20;
  /// Deepest accepted JSON nesting (guards the recursive parser's stack).
  static constexpr int kMaxDepth = 64;
  /// How many asynchronous events are kept for events().
  static constexpr size_t kMaxEvents = 32;

  /// Connects to `socket_path`, retrying until it exists and accepts or
  /// `timeout` passes, then reads the greeting and negotiates capabilities.
  /// `io_timeout` bounds every later reply.
  static Result<QmpClient> connect(
      const std::string& socket_path, std::chrono::milliseconds timeout,
      std::chrono::milliseconds io_timeout = std::chrono::seconds(10));

  /// Same handshake over an already connected stream (a seam for tests).
  static Result<QmpClient> handshake(
      Fd fd, std::chrono::milliseconds io_timeout = std::chrono::seconds(10));

  QmpClient(QmpClient&&) noexcept = default;
  QmpClient& operator=(QmpClient&&) noexcept = default;

  /// Runs one command and returns its "return" value. A QMP error reply
  /// becomes an Error quoting its class and description. Events arriving
  /// meanwhile are stored, not returned.
  Result<nlohmann::json> execute(const std::string& cmd,
                                 nlohmann::json args = nlohmann::json::object());

  /// query-status: "running", "paused", "prelaunch", "shutdown", ...
  Result<std::string> query_status();

  /// Asks QEMU to exit. Succeeds if QEMU acknowledges or simply closes.
  Result<void> quit();

  /// The server greeting ({"QMP": {"version": ...}}).
  const nlohmann::json& greeting() const { return greeting_; }
  /// The most recent asynchronous events, oldest first.
  const std::deque<nlohmann::json>& events() const { return events_; }
  /// The most recent event named `name` (e.g. "SHUTDOWN"), if seen.
  std::optional<nlohmann::json> last_event(std::string_view name) const;
  /// Reads whatever events are already waiting, without blocking.
  Result<void> poll_events();

 private:
  QmpClient(Fd fd, std::chrono::milliseconds io_timeout)
      : fd_(std::move(fd)), io_timeout_(io_timeout) {}

  /// Next JSON message; fails on timeout, EOF, an over-long line or junk.
  /// A zero timeout returns nullopt if no complete message is buffered or
  /// readable right now.
  Result<std::optional<nlohmann::json>> read_message(
      std::chrono::milliseconds timeout);
  void remember_event(nlohmann::json ev);

  Fd fd_;
  std::chrono::milliseconds io_timeout_;
  std::string buf_;
  nlohmann::json greeting_;
  std::deque<nlohmann::json> events_;
  uint64_t next_id_ = 1;
};

/// Whether `text` nests JSON arrays/objects deeper than `max_depth`
/// (strings are skipped correctly). Exposed for tests.
bool json_too_deep(std::string_view text, int max_depth);

}  // namespace sbx::vm
