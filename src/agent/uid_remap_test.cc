#include "agent/uid_remap.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/user_db.h"
#include "base/files.h"

namespace sbx::agent {
namespace {

constexpr const char* kPasswd =
    "root:x:0:0:root:/root:/bin/bash\n"
    "agent:x:1000:1000:Agent:/home/agent:/bin/bash\n"
    "other:x:1001:1001::/home/other:/bin/sh\n";
constexpr const char* kGroup =
    "root:x:0:\n"
    "docker:x:999:agent\n"
    "agent:x:1000:\n"
    "other:x:1001:\n";

TEST(UidRemap, RewritesUidAndFreeGid) {
  auto r = remap_user_text(kPasswd, kGroup, "agent", 501, 20);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->changed);
  EXPECT_EQ(r->old_uid, 1000u);
  EXPECT_EQ(r->new_uid, 501u);
  EXPECT_EQ(r->new_gid, 20u);
  EXPECT_EQ(r->passwd,
            "root:x:0:0:root:/root:/bin/bash\n"
            "agent:x:501:20:Agent:/home/agent:/bin/bash\n"
            "other:x:1001:1001::/home/other:/bin/sh\n");
  EXPECT_EQ(r->group,
            "root:x:0:\n"
            "docker:x:999:agent\n"
            "agent:x:20:\n"
            "other:x:1001:\n");
}

TEST(UidRemap, KeepsGidWhenTaken) {
  auto r = remap_user_text(kPasswd, kGroup, "agent", 4000, 999);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->new_uid, 4000u);
  EXPECT_EQ(r->new_gid, 1000u);
  EXPECT_NE(r->note.find("taken"), std::string::npos);
  auto users = parse_passwd(r->passwd);
  EXPECT_EQ(users[1].uid, 4000u);
  EXPECT_EQ(users[1].gid, 1000u);
  EXPECT_EQ(r->group, kGroup);
}

TEST(UidRemap, NoChangeWhenMatching) {
  auto r = remap_user_text(kPasswd, kGroup, "agent", 1000, 1000);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->changed);
  EXPECT_EQ(r->passwd, kPasswd);
}

TEST(UidRemap, FailsForMissingUser) {
  EXPECT_FALSE(remap_user_text(kPasswd, kGroup, "nobody", 1, 1));
}

TEST(UidRemap, RechownsTreeWithoutFollowingSymlinks) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to chown";
  auto td = TempDir::create("agent-chown");
  ASSERT_TRUE(td);
  std::string d = td->path();
  ASSERT_TRUE(make_dirs(d + "/home/sub"));
  ASSERT_TRUE(write_file_atomic(d + "/home/sub/f", "x"));
  ASSERT_TRUE(write_file_atomic(d + "/outside", "y"));
  ASSERT_EQ(symlink((d + "/outside").c_str(), (d + "/home/link").c_str()), 0);
  for (auto p : {"/home", "/home/sub", "/home/sub/f", "/outside"})
    ASSERT_EQ(lchown((d + p).c_str(), 1000, 1000), 0);
  ASSERT_EQ(lchown((d + "/home/link").c_str(), 1000, 1000), 0);
  ASSERT_TRUE(rechown_tree(d + "/home", 1000, 1000, 4242, 4343));
  struct stat st;
  ASSERT_EQ(stat((d + "/home/sub/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 4242u);
  EXPECT_EQ(st.st_gid, 4343u);
  ASSERT_EQ(lstat((d + "/home/link").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 4242u);
  ASSERT_EQ(stat((d + "/outside").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1000u) << "followed a symlink";
}

}  // namespace
}  // namespace sbx::agent
