#include "net/policy_store.h"

#include <sqlite3.h>

#include "db/sqlite_stmt.h"

namespace sbx::net {

namespace {

using Stmt = db::SqliteStmt;

Error db_error(sqlite3* db, const std::string& what) {
  return err(what + ": " + sqlite3_errmsg(db));
}

}  // namespace

Result<std::unique_ptr<PolicyStore>> PolicyStore::open(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    Error e = db_error(db, "open policy store " + path);
    sqlite3_close(db);
    return e;
  }
  std::unique_ptr<PolicyStore> store(new PolicyStore(db));
  auto r = store->exec(
      "PRAGMA busy_timeout=2000;"
      "CREATE TABLE IF NOT EXISTS rules ("
      " id INTEGER PRIMARY KEY AUTOINCREMENT, sandbox TEXT NOT NULL,"
      " action TEXT NOT NULL, resource TEXT NOT NULL,"
      " UNIQUE(sandbox, action, resource));"
      "CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
      "INSERT OR IGNORE INTO settings VALUES ('preset', 'balanced');");
  if (!r) return r.error().wrap("policy store schema");
  return store;
}

PolicyStore::~PolicyStore() { sqlite3_close(db_); }

Result<void> PolicyStore::exec(const char* sql) const {
  char* msg = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
    std::string m = msg ? msg : sqlite3_errmsg(db_);
    sqlite3_free(msg);
    return err(m);
  }
  return ok();
}

Result<std::vector<int64_t>> PolicyStore::add(std::string_view sandbox, Action action,
                                              std::string_view resources) {
  auto list = parse_resource_list(resources);
  if (!list) return list.error();
  std::lock_guard l(mu_);
  if (auto r = exec("BEGIN IMMEDIATE"); !r) return r.error().wrap("add rule");
  std::vector<int64_t> ids;
  for (const auto& res : *list) {
    // Stored canonically, so "Example.com." and "example.com" are one rule.
    std::string text = res.to_string();
    Stmt ins(db_, "INSERT OR IGNORE INTO rules (sandbox, action, resource) VALUES (?,?,?)");
    Stmt sel(db_, "SELECT id FROM rules WHERE sandbox=? AND action=? AND resource=?");
    if (!ins || !sel) {
      (void)exec("ROLLBACK");
      return db_error(db_, "add rule");
    }
    ins.text(1, sandbox);
    ins.text(2, action_name(action));
    ins.text(3, text);
    sel.text(1, sandbox);
    sel.text(2, action_name(action));
    sel.text(3, text);
    if (sqlite3_step(ins.get()) != SQLITE_DONE || sqlite3_step(sel.get()) != SQLITE_ROW) {
      Error e = db_error(db_, "add rule '" + text + "'");
      (void)exec("ROLLBACK");
      return e;
    }
    ids.push_back(sqlite3_column_int64(sel.get(), 0));
  }
  if (auto r = exec("COMMIT"); !r) return r.error().wrap("add rule");
  return ids;
}

Result<void> PolicyStore::remove(int64_t id) {
  std::lock_guard l(mu_);
  Stmt st(db_, "DELETE FROM rules WHERE id=?");
  if (!st) return db_error(db_, "remove rule");
  st.i64(1, id);
  if (sqlite3_step(st.get()) != SQLITE_DONE) return db_error(db_, "remove rule");
  if (sqlite3_changes(db_) == 0) return err(404, "no policy rule with id " + std::to_string(id));
  return ok();
}

Result<size_t> PolicyStore::remove_resource(std::string_view sandbox, std::string_view resource,
                                            std::optional<Action> action) {
  auto res = parse_resource(resource);
  if (!res) return res.error();
  std::string text = res->to_string();
  std::lock_guard l(mu_);
  Stmt st(db_, "DELETE FROM rules WHERE sandbox=? AND resource=? AND (?3 = '' OR action = ?3)");
  if (!st) return db_error(db_, "remove rule");
  st.text(1, sandbox);
  st.text(2, text);
  st.text(3, action ? action_name(*action) : "");
  if (sqlite3_step(st.get()) != SQLITE_DONE) return db_error(db_, "remove rule");
  auto n = static_cast<size_t>(sqlite3_changes(db_));
  if (n == 0)
    return err(404, "no policy rule for '" + text + "' in " +
                        (sandbox.empty() ? std::string("global scope")
                                         : "sandbox " + std::string(sandbox)));
  return n;
}

Result<std::vector<Rule>> PolicyStore::list(std::optional<std::string> sandbox) const {
  std::lock_guard l(mu_);
  Stmt st(db_,
          "SELECT id, sandbox, action, resource FROM rules WHERE (?1 = 0 OR sandbox = ?2)"
          " ORDER BY id");
  if (!st) return db_error(db_, "list rules");
  st.i64(1, sandbox.has_value());
  st.text(2, sandbox.value_or(""));
  std::vector<Rule> out;
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    Rule r;
    r.id = sqlite3_column_int64(st.get(), 0);
    r.sandbox = st.col_text(1);
    auto a = parse_action(st.col_text(2));
    auto res = parse_resource(st.col_text(3));
    // A row we cannot read back (edited by hand, older version) is an
    // error, not something to skip: skipping a deny rule would open egress.
    if (!a || !res)
      return err("policy store: unreadable rule id " + std::to_string(r.id) + ": " +
                 (!a ? a.error().message : res.error().message));
    r.action = *a;
    r.resource = std::move(*res);
    out.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return db_error(db_, "list rules");
  return out;
}

Result<void> PolicyStore::set_preset(Preset p) {
  std::lock_guard l(mu_);
  Stmt st(db_, "INSERT OR REPLACE INTO settings VALUES ('preset', ?)");
  if (!st) return db_error(db_, "set preset");
  st.text(1, preset_name(p));
  if (sqlite3_step(st.get()) != SQLITE_DONE) return db_error(db_, "set preset");
  return ok();
}

Result<Preset> PolicyStore::preset() const {
  std::lock_guard l(mu_);
  Stmt st(db_, "SELECT value FROM settings WHERE key='preset'");
  if (!st || sqlite3_step(st.get()) != SQLITE_ROW) return db_error(db_, "read preset");
  return parse_preset(st.col_text(0));
}

Result<void> PolicyStore::reset() {
  std::lock_guard l(mu_);
  return exec(
      "BEGIN IMMEDIATE; DELETE FROM rules;"
      " INSERT OR REPLACE INTO settings VALUES ('preset', 'balanced'); COMMIT;");
}

Result<Policy> PolicyStore::load(const PresetInputs& inputs) const {
  auto p = preset();
  if (!p) return p.error();
  auto rules = list();
  if (!rules) return rules.error();
  return make_policy(*p, inputs, std::move(*rules));
}

}  // namespace sbx::net
