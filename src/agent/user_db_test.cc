#include "agent/user_db.h"

#include <gtest/gtest.h>

namespace sbx::agent {
namespace {

constexpr const char* kPasswd =
    "root:x:0:0:root:/root:/bin/bash\n"
    "# a comment\n"
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    "broken line without colons\n"
    "bad:x:notanumber:1::/:/bin/sh\n"
    "agent:x:1000:1000:Agent,,,:/home/agent:/bin/bash\n";

constexpr const char* kGroup =
    "root:x:0:\n"
    "sudo:x:27:agent\n"
    "docker:x:999:someone,agent\n"
    "agent:x:1000:\n"
    "users:x:100:someone\n"
    "dup:x:1000:agent\n";

TEST(UserDb, ParsesPasswdSkippingMalformedLines) {
  auto users = parse_passwd(kPasswd);
  ASSERT_EQ(users.size(), 3u);
  EXPECT_EQ(users[2].name, "agent");
  EXPECT_EQ(users[2].uid, 1000u);
  EXPECT_EQ(users[2].gid, 1000u);
  EXPECT_EQ(users[2].home, "/home/agent");
  EXPECT_EQ(users[2].shell, "/bin/bash");
}

TEST(UserDb, ParsesGroupMembers) {
  auto groups = parse_group(kGroup);
  ASSERT_EQ(groups.size(), 6u);
  EXPECT_EQ(groups[2].name, "docker");
  ASSERT_EQ(groups[2].members.size(), 2u);
  EXPECT_EQ(groups[2].members[1], "agent");
  EXPECT_TRUE(groups[0].members.empty());
}

TEST(UserDb, FindsUsersByNameAndUid) {
  UserDb db(parse_passwd(kPasswd), parse_group(kGroup));
  ASSERT_TRUE(db.find_user("agent").has_value());
  EXPECT_EQ(db.find_user("agent")->uid, 1000u);
  ASSERT_TRUE(db.find_user("1000").has_value());
  EXPECT_EQ(db.find_user("1000")->name, "agent");
  EXPECT_FALSE(db.find_user("nobody").has_value());
  EXPECT_FALSE(db.find_user("4242").has_value());
}

TEST(UserDb, SupplementaryGroupsIncludePrimaryOnce) {
  UserDb db(parse_passwd(kPasswd), parse_group(kGroup));
  auto g = db.groups_of(*db.find_user("agent"));
  EXPECT_EQ(g, (std::vector<uint32_t>{1000, 27, 999}));
  auto r = db.groups_of(*db.find_user("root"));
  EXPECT_EQ(r, (std::vector<uint32_t>{0}));
}

}  // namespace
}  // namespace sbx::agent
