#include "net/network_log.h"

#include <sqlite3.h>

#include "db/sqlite_stmt.h"

#include <nlohmann/json.hpp>

namespace sbx::net {

namespace {

using Stmt = db::SqliteStmt;

Error db_error(sqlite3* db, const std::string& what) {
  return err(what + ": " + sqlite3_errmsg(db));
}

constexpr const char* kColumns =
    "id, time_ms, sandbox, host, port, kind, method, path, rule, allowed, bytes_up, "
    "bytes_down, finished, error";

LogEntry read_row(Stmt& st) {
  LogEntry e;
  e.id = sqlite3_column_int64(st.get(), 0);
  e.time_ms = sqlite3_column_int64(st.get(), 1);
  e.sandbox = st.col_text(2);
  e.host = st.col_text(3);
  e.port = static_cast<uint16_t>(sqlite3_column_int(st.get(), 4));
  e.kind = st.col_text(5);
  e.method = st.col_text(6);
  e.path = st.col_text(7);
  e.rule = st.col_text(8);
  e.allowed = sqlite3_column_int(st.get(), 9) != 0;
  e.bytes_up = static_cast<uint64_t>(sqlite3_column_int64(st.get(), 10));
  e.bytes_down = static_cast<uint64_t>(sqlite3_column_int64(st.get(), 11));
  e.finished = sqlite3_column_int(st.get(), 12) != 0;
  e.error = st.col_text(13);
  return e;
}

}  // namespace

std::string to_json(const LogEntry& e) {
  nlohmann::json j = {{"id", e.id},           {"time_ms", e.time_ms},
                      {"sandbox", e.sandbox}, {"host", e.host},
                      {"port", e.port},       {"kind", e.kind},
                      {"method", e.method},   {"path", e.path},
                      {"rule", e.rule},       {"verdict", e.allowed ? "allow" : "deny"},
                      {"bytes_up", e.bytes_up}, {"bytes_down", e.bytes_down},
                      {"finished", e.finished}, {"error", e.error}};
  // Hosts and paths come from the guest: never let invalid UTF-8 throw.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::optional<LogEntry> LogSubscription::next(std::chrono::milliseconds timeout) {
  std::unique_lock l(mu_);
  cv_.wait_for(l, timeout, [&] { return closed_ || !q_.empty(); });
  if (q_.empty()) return std::nullopt;
  LogEntry e = std::move(q_.front());
  q_.pop_front();
  return e;
}

uint64_t LogSubscription::dropped() const {
  std::lock_guard l(mu_);
  return dropped_;
}

void LogSubscription::close() {
  {
    std::lock_guard l(mu_);
    closed_ = true;
    q_.clear();
  }
  cv_.notify_all();
}

bool LogSubscription::closed() const {
  std::lock_guard l(mu_);
  return closed_;
}

void LogSubscription::push(const LogEntry& e) {
  {
    std::lock_guard l(mu_);
    if (closed_) return;
    if (q_.size() >= capacity_) {
      q_.pop_front();
      ++dropped_;
    }
    q_.push_back(e);
  }
  cv_.notify_one();
}

Result<std::unique_ptr<NetworkLog>> NetworkLog::open(const std::string& path, size_t max_rows) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    Error e = db_error(db, "open network log " + path);
    sqlite3_close(db);
    return e;
  }
  std::unique_ptr<NetworkLog> log(new NetworkLog(db, max_rows == 0 ? 1 : max_rows));
  // WAL + NORMAL: one fsync per checkpoint, not per connection; losing the
  // last few log rows on power loss is acceptable, slowing egress is not.
  const char* schema =
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=2000;"
      "CREATE TABLE IF NOT EXISTS network_log ("
      " id INTEGER PRIMARY KEY AUTOINCREMENT, time_ms INTEGER NOT NULL,"
      " sandbox TEXT NOT NULL, host TEXT NOT NULL, port INTEGER NOT NULL,"
      " kind TEXT NOT NULL, method TEXT NOT NULL, path TEXT NOT NULL, rule TEXT NOT NULL,"
      " allowed INTEGER NOT NULL, bytes_up INTEGER NOT NULL DEFAULT 0,"
      " bytes_down INTEGER NOT NULL DEFAULT 0, finished INTEGER NOT NULL DEFAULT 0,"
      " error TEXT NOT NULL DEFAULT '');"
      "CREATE INDEX IF NOT EXISTS network_log_sandbox ON network_log(sandbox, id);";
  char* msg = nullptr;
  if (sqlite3_exec(db, schema, nullptr, nullptr, &msg) != SQLITE_OK) {
    std::string m = msg ? msg : "?";
    sqlite3_free(msg);
    return err("network log schema: " + m);
  }
  return log;
}

NetworkLog::~NetworkLog() { sqlite3_close(db_); }

int64_t NetworkLog::record(LogEntry e) {
  if (e.time_ms == 0)
    e.time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  {
    std::lock_guard l(mu_);
    Stmt st(db_,
            "INSERT INTO network_log (time_ms, sandbox, host, port, kind, method, path, rule,"
            " allowed, bytes_up, bytes_down, finished, error)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)");
    if (!st) return 0;
    st.i64(1, e.time_ms);
    st.text(2, e.sandbox);
    st.text(3, e.host);
    st.i64(4, e.port);
    st.text(5, e.kind);
    st.text(6, e.method);
    st.text(7, e.path.substr(0, 2048));
    st.text(8, e.rule);
    st.i64(9, e.allowed);
    st.i64(10, static_cast<int64_t>(e.bytes_up));
    st.i64(11, static_cast<int64_t>(e.bytes_down));
    st.i64(12, e.finished);
    st.text(13, e.error);
    if (sqlite3_step(st.get()) != SQLITE_DONE) return 0;
    e.id = sqlite3_last_insert_rowid(db_);
    // Trim in batches: a DELETE per insert would double the write cost.
    if (++inserts_since_trim_ >= 64 || max_rows_ < 64) {
      inserts_since_trim_ = 0;
      Stmt del(db_, "DELETE FROM network_log WHERE id <= ?");
      if (del) {
        del.i64(1, e.id - static_cast<int64_t>(max_rows_));
        sqlite3_step(del.get());
      }
    }
  }
  publish(e);
  return e.id;
}

void NetworkLog::finish(int64_t id, uint64_t up, uint64_t down, const std::string& error) {
  if (id == 0) return;
  {
    std::lock_guard l(mu_);
    Stmt st(db_,
            "UPDATE network_log SET bytes_up=?, bytes_down=?, finished=1, error=? WHERE id=?");
    if (!st) return;
    st.i64(1, static_cast<int64_t>(up));
    st.i64(2, static_cast<int64_t>(down));
    st.text(3, error);
    st.i64(4, id);
    sqlite3_step(st.get());
  }
  auto e = get(id);
  if (e.ok() && e->has_value()) publish(**e);
}

Result<std::optional<LogEntry>> NetworkLog::get(int64_t id) const {
  std::lock_guard l(mu_);
  Stmt st(db_, (std::string("SELECT ") + kColumns + " FROM network_log WHERE id=?").c_str());
  if (!st) return db_error(db_, "network log");
  st.i64(1, id);
  if (sqlite3_step(st.get()) != SQLITE_ROW) return std::optional<LogEntry>();
  return std::optional<LogEntry>(read_row(st));
}

Result<std::vector<LogEntry>> NetworkLog::query(const LogQuery& q) const {
  std::lock_guard l(mu_);
  std::string sql = std::string("SELECT ") + kColumns +
                    " FROM network_log WHERE (?1 = '' OR sandbox = ?1)"
                    " AND (?2 = 0 OR allowed = 0) ORDER BY id DESC LIMIT ?3";
  Stmt st(db_, sql.c_str());
  if (!st) return db_error(db_, "query network log");
  st.text(1, q.sandbox);
  st.i64(2, q.blocked_only);
  st.i64(3, static_cast<int64_t>(q.limit));
  std::vector<LogEntry> out;
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) out.push_back(read_row(st));
  if (rc != SQLITE_DONE) return db_error(db_, "query network log");
  return out;
}

std::shared_ptr<LogSubscription> NetworkLog::subscribe(size_t capacity) {
  auto s = std::make_shared<LogSubscription>(capacity == 0 ? 1 : capacity);
  std::lock_guard l(subs_mu_);
  subs_.push_back(s);
  return s;
}

void NetworkLog::publish(const LogEntry& e) {
  std::lock_guard l(subs_mu_);
  for (auto it = subs_.begin(); it != subs_.end();) {
    auto s = it->lock();
    if (!s || s->closed()) {
      it = subs_.erase(it);
      continue;
    }
    s->push(e);
    ++it;
  }
}

}  // namespace sbx::net
