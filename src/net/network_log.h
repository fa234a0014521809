// The record of every egress decision: persisted (SQLite, capped in rows),
// queryable for `sbx policy log`, and streamed live to subscribers (the
// TUI's network monitor). SQLite rather than a JSON-lines file because a
// connection's byte counts are only known when it ends: an indexed row is
// updated in place, and queries by sandbox / verdict / newest-first need
// no scan of a rotated file pair.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

// SQLite stays an implementation detail: callers need not see its header.
struct sqlite3;

namespace sbx::net {

/// One decision, and later the byte counts of the connection it allowed.
struct LogEntry {
  int64_t id = 0;       ///< assigned by NetworkLog::record
  int64_t time_ms = 0;  ///< Unix epoch milliseconds; record() fills 0 with now
  std::string sandbox;
  std::string host;  ///< name, or the address when no name was visible
  uint16_t port = 0;
  std::string kind;  ///< "forward", "transparent" or "dns"
  std::string method;  ///< HTTP method when visible ("CONNECT" for tunnels)
  std::string path;    ///< plain-HTTP path when visible
  std::string rule;    ///< Decision::rule
  bool allowed = false;
  uint64_t bytes_up = 0;    ///< guest -> internet
  uint64_t bytes_down = 0;  ///< internet -> guest
  bool finished = false;    ///< true once the connection ended
  std::string error;        ///< upstream failure text, if any
};

/// JSON object for the daemon API / TUI event stream.
std::string to_json(const LogEntry& e);

/// A filter for NetworkLog::query.
struct LogQuery {
  std::string sandbox;  ///< empty: all sandboxes
  bool blocked_only = false;
  size_t limit = 100;
};

/// A bounded per-subscriber queue. The proxy never waits for a subscriber:
/// when the queue is full the oldest event is dropped and counted.
class LogSubscription {
 public:
  explicit LogSubscription(size_t capacity) : capacity_(capacity) {}
  /// Waits up to `timeout` for the next event; nullopt on timeout or close.
  std::optional<LogEntry> next(std::chrono::milliseconds timeout);
  /// Events dropped because this subscriber was too slow.
  uint64_t dropped() const;
  /// Wakes a waiting next() and makes later ones return at once.
  void close();
  bool closed() const;

 private:
  friend class NetworkLog;
  void push(const LogEntry& e);

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<LogEntry> q_;
  size_t capacity_;
  uint64_t dropped_ = 0;
  bool closed_ = false;
};

/// The network log. Thread-safe; one per daemon.
class NetworkLog {
 public:
  /// Opens (creating) the database at `path` (":memory:" for tests); keeps
  /// at most `max_rows` entries, deleting the oldest.
  static Result<std::unique_ptr<NetworkLog>> open(const std::string& path,
                                                  size_t max_rows = 100000);
  ~NetworkLog();
  NetworkLog(const NetworkLog&) = delete;
  NetworkLog& operator=(const NetworkLog&) = delete;

  /// Stores a decision and publishes it; returns its id (0 if the write
  /// failed: logging must never take the proxy down).
  int64_t record(LogEntry e);
  /// Stores the final byte counts of entry `id` and publishes it finished.
  void finish(int64_t id, uint64_t bytes_up, uint64_t bytes_down, const std::string& error = {});
  /// Newest first.
  Result<std::vector<LogEntry>> query(const LogQuery& q) const;
  /// A new live subscription; it receives every later record()/finish().
  std::shared_ptr<LogSubscription> subscribe(size_t capacity = 1024);

 private:
  NetworkLog(sqlite3* db, size_t max_rows) : db_(db), max_rows_(max_rows) {}
  void publish(const LogEntry& e);
  Result<std::optional<LogEntry>> get(int64_t id) const;

  mutable std::mutex mu_;  ///< guards db_ and inserts_since_trim_
  sqlite3* db_;
  size_t max_rows_;
  size_t inserts_since_trim_ = 0;
  std::mutex subs_mu_;
  std::vector<std::weak_ptr<LogSubscription>> subs_;
};

}  // namespace sbx::net
