#include "daemon/store.h"

#include <gtest/gtest.h>

#include "base/files.h"

namespace sbx::daemon {
namespace {

SandboxRecord sample(const std::string& name) {
  SandboxRecord r;
  r.name = name;
  r.agent = "shell";
  r.workspace = "/tmp/ws";
  r.memory_bytes = 1ull << 30;
  r.cpus = 2;
  r.disk_bytes = 20ull << 30;
  r.template_id = "t1";
  r.user = "agent";
  r.created_at = "2026-11-28T00:00:00Z";
  r.status = SandboxStatus::kStopped;
  return r;
}

TEST(Store, InsertGetUpdateRemove) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir.ok());
  auto st = Store::open(dir->path() + "/db");
  ASSERT_TRUE(st.ok()) << st.error().message;
  auto& s = **st;
  ASSERT_TRUE(s.insert(sample("a")).ok());
  auto g = s.get("a");
  ASSERT_TRUE(g.ok() && g->has_value());
  EXPECT_EQ((*g)->memory_bytes, 1ull << 30);
  auto rec = **g;
  rec.status = SandboxStatus::kRunning;
  rec.qemu_pid = 1234;
  ASSERT_TRUE(s.update(rec).ok());
  EXPECT_EQ((*s.get("a"))->qemu_pid, 1234);
  EXPECT_EQ((*s.get("a"))->status, SandboxStatus::kRunning);
  ASSERT_TRUE(s.remove("a").ok());
  EXPECT_FALSE(s.get("a")->has_value());
}

TEST(Store, DuplicateNameIsNameTaken) {
  auto dir = TempDir::create();
  auto st = Store::open(dir->path() + "/db");
  ASSERT_TRUE(st.ok());
  ASSERT_TRUE((*st)->insert(sample("a")).ok());
  auto r = (*st)->insert(sample("a"));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(is_name_taken(r.error()));
}

TEST(Store, PersistsAcrossReopen) {
  auto dir = TempDir::create();
  {
    auto st = Store::open(dir->path() + "/db");
    ASSERT_TRUE(st.ok());
    ASSERT_TRUE((*st)->insert(sample("b")).ok());
    ASSERT_TRUE((*st)->insert(sample("a")).ok());
  }
  auto st = Store::open(dir->path() + "/db");
  ASSERT_TRUE(st.ok());
  auto l = (*st)->list();
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->size(), 2u);
  EXPECT_EQ((*l)[0].name, "a");  // ordered by name
  auto users = (*st)->users_of_template("t1");
  ASSERT_TRUE(users.ok());
  EXPECT_EQ(users->size(), 2u);
}

TEST(Store, UpdateOfMissingRecordFails) {
  auto dir = TempDir::create();
  auto st = Store::open(dir->path() + "/db");
  ASSERT_TRUE(st.ok());
  EXPECT_FALSE((*st)->update(sample("ghost")).ok());
}

TEST(Store, NamesAreBoundNotInterpolated) {
  auto dir = TempDir::create();
  auto st = Store::open(dir->path() + "/db");
  ASSERT_TRUE(st.ok());
  ASSERT_TRUE((*st)->insert(sample("x'; DROP TABLE sandboxes; --")).ok());
  auto l = (*st)->list();
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->size(), 1u);
}

TEST(Store, DenyNetworkIsStored) {
  auto dir = TempDir::create();
  auto st = Store::open(dir->path() + "/db");
  ASSERT_TRUE(st.ok());
  auto r = sample("a");
  r.deny_network = true;
  ASSERT_TRUE((*st)->insert(r).ok());
  ASSERT_TRUE((*st)->insert(sample("b")).ok());
  EXPECT_TRUE((*(*st)->get("a"))->deny_network);
  EXPECT_FALSE((*(*st)->get("b"))->deny_network);
  r.deny_network = false;
  ASSERT_TRUE((*st)->update(r).ok());
  EXPECT_FALSE((*(*st)->get("a"))->deny_network);
}

TEST(Store, MigratesASchema1Database) {
  auto dir = TempDir::create();
  std::string path = dir->path() + "/db";
  {
    // The tables exactly as schema 1 made them, with one sandbox in them.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    const char* sql =
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);"
        "CREATE TABLE sandboxes ("
        " name TEXT PRIMARY KEY, agent TEXT NOT NULL, workspace TEXT NOT NULL,"
        " memory_bytes INTEGER NOT NULL, cpus INTEGER NOT NULL,"
        " disk_bytes INTEGER NOT NULL, template_id TEXT NOT NULL,"
        " user TEXT NOT NULL, created_at TEXT NOT NULL, status TEXT NOT NULL,"
        " qemu_pid INTEGER NOT NULL DEFAULT 0, virtiofsd_pid INTEGER NOT NULL DEFAULT 0,"
        " last_error TEXT NOT NULL DEFAULT '', docker_bytes INTEGER NOT NULL DEFAULT 0);"
        "INSERT INTO meta VALUES ('schema', '1');"
        "INSERT INTO sandboxes (name, agent, workspace, memory_bytes, cpus, disk_bytes,"
        " template_id, user, created_at, status) VALUES"
        " ('old', 'shell', '/w', 1, 1, 1, 't', 'agent', 'then', 'stopped');";
    ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  for (int round = 0; round < 2; ++round) {  // the second open finds schema 2
    auto st = Store::open(path);
    ASSERT_TRUE(st.ok()) << st.error().message;
    auto g = (*st)->get("old");
    ASSERT_TRUE(g.ok() && g->has_value()) << (g.ok() ? "missing" : g.error().message);
    EXPECT_EQ((*g)->workspace, "/w");
    EXPECT_EQ((*g)->deny_network, round == 1);  // false after migrating; then as stored
    auto r = **g;
    r.deny_network = round == 0;
    ASSERT_TRUE((*st)->update(r).ok());
    EXPECT_EQ((*(*st)->get("old"))->deny_network, round == 0);
  }
}

}  // namespace
}  // namespace sbx::daemon
