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
  r.status = "stopped";
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
  rec.status = "running";
  rec.qemu_pid = 1234;
  ASSERT_TRUE(s.update(rec).ok());
  EXPECT_EQ((*s.get("a"))->qemu_pid, 1234);
  EXPECT_EQ((*s.get("a"))->status, "running");
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

}  // namespace
}  // namespace sbx::daemon
