#include "daemon/store.h"

#include <cstdlib>

#include "db/sqlite_stmt.h"

namespace sbx::daemon {

namespace {

constexpr const char* kNameTaken = "name taken";

using Stmt = db::SqliteStmt;

constexpr const char* kColumns =
    "name, agent, workspace, memory_bytes, cpus, disk_bytes, template_id, user, "
    "created_at, status, qemu_pid, virtiofsd_pid, last_error, docker_bytes, deny_network";

SandboxRecord read_row(const Stmt& s) {
  SandboxRecord r;
  r.name = s.text(0);
  r.agent = s.text(1);
  r.workspace = s.text(2);
  r.memory_bytes = static_cast<uint64_t>(s.i64(3));
  r.cpus = static_cast<int>(s.i64(4));
  r.disk_bytes = static_cast<uint64_t>(s.i64(5));
  r.template_id = s.text(6);
  r.user = s.text(7);
  r.created_at = s.text(8);
  r.status = parse_status(s.text(9));
  r.qemu_pid = s.i64(10);
  r.virtiofsd_pid = s.i64(11);
  r.last_error = s.text(12);
  r.docker_bytes = static_cast<uint64_t>(s.i64(13));
  r.deny_network = s.i64(14) != 0;
  return r;
}

void bind_row(Stmt& s, const SandboxRecord& r) {
  s.bind(1, r.name);
  s.bind(2, r.agent);
  s.bind(3, r.workspace);
  s.bind(4, static_cast<int64_t>(r.memory_bytes));
  s.bind(5, static_cast<int64_t>(r.cpus));
  s.bind(6, static_cast<int64_t>(r.disk_bytes));
  s.bind(7, r.template_id);
  s.bind(8, r.user);
  s.bind(9, r.created_at);
  s.bind(10, std::string(status_name(r.status)));
  s.bind(11, r.qemu_pid);
  s.bind(12, r.virtiofsd_pid);
  s.bind(13, r.last_error);
  s.bind(14, static_cast<int64_t>(r.docker_bytes));
  s.bind(15, static_cast<int64_t>(r.deny_network ? 1 : 0));
}

}  // namespace

bool is_name_taken(const Error& e) { return e.message.find(kNameTaken) != std::string::npos; }

Result<std::unique_ptr<Store>> Store::open(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return err("open database " + path + ": " + msg);
  }
  std::unique_ptr<Store> s(new Store(db));
  sqlite3_busy_timeout(db, 5000);
  for (const char* sql : {
           "PRAGMA journal_mode=WAL",
           "PRAGMA synchronous=NORMAL",
           "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)",
           "CREATE TABLE IF NOT EXISTS sandboxes ("
           " name TEXT PRIMARY KEY, agent TEXT NOT NULL, workspace TEXT NOT NULL,"
           " memory_bytes INTEGER NOT NULL, cpus INTEGER NOT NULL,"
           " disk_bytes INTEGER NOT NULL, template_id TEXT NOT NULL,"
           " user TEXT NOT NULL, created_at TEXT NOT NULL, status TEXT NOT NULL,"
           " qemu_pid INTEGER NOT NULL DEFAULT 0, virtiofsd_pid INTEGER NOT NULL DEFAULT 0,"
           " last_error TEXT NOT NULL DEFAULT '', docker_bytes INTEGER NOT NULL DEFAULT 0)",
           "CREATE TABLE IF NOT EXISTS ports ("
           " sandbox TEXT NOT NULL REFERENCES sandboxes(name) ON DELETE CASCADE,"
           " host_ip TEXT NOT NULL, host_port INTEGER NOT NULL, sandbox_port INTEGER NOT NULL,"
           " proto TEXT NOT NULL, seq INTEGER PRIMARY KEY AUTOINCREMENT,"
           " UNIQUE (host_ip, host_port))",
           "PRAGMA foreign_keys=ON",
           "INSERT OR IGNORE INTO meta VALUES ('schema', '1')",
       }) {
    auto r = s->exec(sql);
    if (!r) return r.error().wrap("initialise database " + path);
  }
  if (auto r = s->migrate(); !r) return r.error().wrap("migrate database " + path);
  return s;
}

Result<int64_t> Store::schema_version() {
  Stmt s(db_, "SELECT value FROM meta WHERE key = 'schema'");
  if (!s.ok()) return s.error("read schema version");
  if (s.step() != SQLITE_ROW) return int64_t{1};
  return static_cast<int64_t>(std::atoll(s.text(0).c_str()));
}

Result<void> Store::migrate() {
  auto v = schema_version();
  if (!v) return v.error();
  // Schema 2: sandboxes created with --deny-network. One transaction, so a
  // crash cannot leave the column added but the version old (or the reverse).
  if (*v < 2) {
    for (const char* sql : {"BEGIN IMMEDIATE",
                            "ALTER TABLE sandboxes ADD COLUMN deny_network INTEGER NOT NULL DEFAULT 0",
                            "UPDATE meta SET value = '2' WHERE key = 'schema'", "COMMIT"}) {
      if (auto r = exec(sql); !r) {
        (void)exec("ROLLBACK");
        return r.error().wrap("schema 2");
      }
    }
  }
  return ok();
}

Store::~Store() { sqlite3_close(db_); }

Result<void> Store::exec(const std::string& sql) {
  char* msg = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &msg) != SQLITE_OK) {
    std::string m = msg ? msg : "unknown error";
    sqlite3_free(msg);
    return err(m);
  }
  return ok();
}

Result<void> Store::insert(const SandboxRecord& r) {
  std::lock_guard l(mu_);
  Stmt s(db_, (std::string("INSERT INTO sandboxes (") + kColumns +
               ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)").c_str());
  if (!s.ok()) return s.error("insert sandbox");
  bind_row(s, r);
  int rc = s.step();
  if (rc == SQLITE_CONSTRAINT) return err(std::string(kNameTaken) + ": " + r.name);
  if (rc != SQLITE_DONE) return s.error("insert sandbox " + r.name);
  return ok();
}

Result<std::optional<SandboxRecord>> Store::get(const std::string& name) {
  std::lock_guard l(mu_);
  Stmt s(db_, (std::string("SELECT ") + kColumns + " FROM sandboxes WHERE name = ?").c_str());
  if (!s.ok()) return s.error("get sandbox");
  s.bind(1, name);
  int rc = s.step();
  if (rc == SQLITE_ROW) return std::optional<SandboxRecord>(read_row(s));
  if (rc == SQLITE_DONE) return std::optional<SandboxRecord>();
  return s.error("get sandbox " + name);
}

Result<std::vector<SandboxRecord>> Store::list() {
  std::lock_guard l(mu_);
  Stmt s(db_, (std::string("SELECT ") + kColumns + " FROM sandboxes ORDER BY name").c_str());
  if (!s.ok()) return s.error("list sandboxes");
  std::vector<SandboxRecord> out;
  for (;;) {
    int rc = s.step();
    if (rc == SQLITE_ROW) {
      out.push_back(read_row(s));
      continue;
    }
    if (rc == SQLITE_DONE) return out;
    return s.error("list sandboxes");
  }
}

Result<void> Store::update(const SandboxRecord& r) {
  std::lock_guard l(mu_);
  Stmt s(db_,
         "UPDATE sandboxes SET agent=?2, workspace=?3, memory_bytes=?4, cpus=?5,"
         " disk_bytes=?6, template_id=?7, user=?8, created_at=?9, status=?10,"
         " qemu_pid=?11, virtiofsd_pid=?12, last_error=?13, docker_bytes=?14, deny_network=?15"
         " WHERE name=?1");
  if (!s.ok()) return s.error("update sandbox");
  bind_row(s, r);
  if (s.step() != SQLITE_DONE) return s.error("update sandbox " + r.name);
  if (sqlite3_changes(db_) == 0) return err("update sandbox " + r.name + ": no such sandbox");
  return ok();
}

Result<void> Store::remove(const std::string& name) {
  std::lock_guard l(mu_);
  Stmt s(db_, "DELETE FROM sandboxes WHERE name = ?");
  if (!s.ok()) return s.error("remove sandbox");
  s.bind(1, name);
  if (s.step() != SQLITE_DONE) return s.error("remove sandbox " + name);
  return ok();
}

Result<std::vector<proto::PortMapping>> Store::ports(const std::string& name) {
  std::lock_guard l(mu_);
  Stmt s(db_, "SELECT host_ip, host_port, sandbox_port, proto FROM ports WHERE sandbox = ? ORDER BY seq");
  if (!s.ok()) return s.error("list ports");
  s.bind(1, name);
  std::vector<proto::PortMapping> out;
  for (;;) {
    int rc = s.step();
    if (rc == SQLITE_DONE) return out;
    if (rc != SQLITE_ROW) return s.error("list ports of " + name);
    out.push_back(proto::PortMapping{s.text(0), static_cast<uint16_t>(s.i64(1)),
                                     static_cast<uint16_t>(s.i64(2)), s.text(3)});
  }
}

Result<void> Store::add_port(const std::string& name, const proto::PortMapping& p) {
  std::lock_guard l(mu_);
  Stmt s(db_, "INSERT INTO ports (sandbox, host_ip, host_port, sandbox_port, proto) VALUES (?,?,?,?,?)");
  if (!s.ok()) return s.error("add port");
  s.bind(1, name);
  s.bind(2, p.host_ip);
  s.bind(3, static_cast<int64_t>(p.host_port));
  s.bind(4, static_cast<int64_t>(p.sandbox_port));
  s.bind(5, p.proto);
  int rc = s.step();
  if (rc == SQLITE_CONSTRAINT)
    return err(409, "host port " + p.host_ip + ":" + std::to_string(p.host_port) +
                        " is already published by a sandbox");
  if (rc != SQLITE_DONE) return s.error("add port");
  return ok();
}

Result<void> Store::remove_port(const std::string& name, const proto::PortMapping& p) {
  std::lock_guard l(mu_);
  Stmt s(db_, "DELETE FROM ports WHERE sandbox = ? AND host_ip = ? AND host_port = ?");
  if (!s.ok()) return s.error("remove port");
  s.bind(1, name);
  s.bind(2, p.host_ip);
  s.bind(3, static_cast<int64_t>(p.host_port));
  if (s.step() != SQLITE_DONE) return s.error("remove port");
  return ok();
}

Result<std::optional<std::string>> Store::port_owner(const std::string& host_ip, uint16_t port) {
  std::lock_guard l(mu_);
  Stmt s(db_, "SELECT sandbox FROM ports WHERE host_ip = ? AND host_port = ?");
  if (!s.ok()) return s.error("port owner");
  s.bind(1, host_ip);
  s.bind(2, static_cast<int64_t>(port));
  if (s.step() == SQLITE_ROW) return std::optional<std::string>(s.text(0));
  return std::optional<std::string>();
}

Result<std::vector<std::string>> Store::users_of_template(const std::string& id) {
  std::lock_guard l(mu_);
  Stmt s(db_, "SELECT name FROM sandboxes WHERE template_id = ? ORDER BY name");
  if (!s.ok()) return s.error("query template users");
  s.bind(1, id);
  std::vector<std::string> out;
  while (s.step() == SQLITE_ROW) out.push_back(s.text(0));
  return out;
}

}  // namespace sbx::daemon
