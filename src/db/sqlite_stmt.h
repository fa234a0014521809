// RAII over SQLite's prepared statements, shared by every store (sandboxes,
// policy, network log) so binding and reading are written once.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace sbx::db {

/// One prepared statement, finalized on scope exit. Binding overloads take
/// (index, value); reading overloads take (column).
class SqliteStmt {
 public:
  SqliteStmt(sqlite3* db, const char* sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &st_, nullptr);
  }
  ~SqliteStmt() { sqlite3_finalize(st_); }
  SqliteStmt(const SqliteStmt&) = delete;
  SqliteStmt& operator=(const SqliteStmt&) = delete;

  bool ok() const { return rc_ == SQLITE_OK && st_ != nullptr; }
  explicit operator bool() const { return ok(); }
  sqlite3_stmt* get() const { return st_; }
  /// An error naming `what` with SQLite's message for this connection.
  Error error(const std::string& what) const { return err(what + ": " + sqlite3_errmsg(db_)); }

  void bind(int i, std::string_view v) {
    sqlite3_bind_text(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void bind(int i, int64_t v) { sqlite3_bind_int64(st_, i, v); }
  void text(int i, std::string_view v) { bind(i, v); }
  void i64(int i, int64_t v) { bind(i, v); }
  int step() { return sqlite3_step(st_); }

  std::string text(int c) const {
    auto* p = sqlite3_column_text(st_, c);
    return p ? reinterpret_cast<const char*>(p) : "";
  }
  std::string col_text(int c) const { return text(c); }
  int64_t i64(int c) const { return sqlite3_column_int64(st_, c); }

 private:
  sqlite3* db_;
  sqlite3_stmt* st_ = nullptr;
  int rc_;
};

}  // namespace sbx::db
