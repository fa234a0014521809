#include "daemon/user_kits.h"

#include <gtest/gtest.h>

#include "base/files.h"

namespace sbx::daemon {
namespace {

class UserKitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::create("sbx-ukits");
    ASSERT_TRUE(d);
    dir_.emplace(std::move(*d));
    kits_dir_ = dir_->path() + "/kits";
  }
  proto::KitBundle bundle(const std::string& name = "mine") {
    return {"name: " + name +
                "\nkind: agent\nentry: [tool]\nfiles: [{path: ~/.t.json, source: files/t.json}]\n",
            {{"files/t.json", "{}\n"}}};
  }
  std::optional<TempDir> dir_;
  std::string kits_dir_;
  Logger log_{stderr, LogLevel::kError};
};

TEST_F(UserKitsTest, AStagedKitIsKeptForItsSandboxAndLoadedAgain) {
  {
    UserKits kits(kits_dir_, log_);
    auto s = kits.stage(bundle());
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s->kit().name, "mine");
    ASSERT_EQ(s->kit().files.size(), 1u);
    EXPECT_EQ(s->kit().files[0].content, "{}\n");
    EXPECT_FALSE(kits.find("box"));
    ASSERT_TRUE(kits.attach(*s, "box"));
    EXPECT_TRUE(path_exists(kits_dir_ + "/box/kit.yaml"));
    EXPECT_EQ(*read_file(kits_dir_ + "/box/files/t.json"), "{}\n");
    auto k = kits.find("box");
    ASSERT_TRUE(k);
    EXPECT_EQ(k->entry, std::vector<std::string>{"tool"});
    EXPECT_EQ(k->source, kits_dir_ + "/box/kit.yaml");
  }
  // A restarted daemon finds it again.
  UserKits again(kits_dir_, log_);
  EXPECT_EQ(again.sandboxes(), std::vector<std::string>{"box"});
  ASSERT_TRUE(again.find("box"));
  EXPECT_EQ(again.find("box")->name, "mine");
  ASSERT_TRUE(again.remove("box"));
  EXPECT_FALSE(again.find("box"));
  EXPECT_FALSE(path_exists(kits_dir_ + "/box"));
  EXPECT_TRUE(again.remove("never-had-one"));
}

TEST_F(UserKitsTest, AKitNotAttachedLeavesNothingBehind) {
  UserKits kits(kits_dir_, log_);
  {
    auto s = kits.stage(bundle());
    ASSERT_TRUE(s);
    auto names = list_dir(kits_dir_);
    ASSERT_TRUE(names);
    EXPECT_EQ(names->size(), 1u);  // the staging directory
  }
  EXPECT_TRUE(list_dir(kits_dir_)->empty());
  // One a crash left behind goes at the next start.
  ASSERT_TRUE(make_dirs(kits_dir_ + "/.staging-abc123"));
  UserKits again(kits_dir_, log_);
  EXPECT_TRUE(list_dir(kits_dir_)->empty());
}

TEST_F(UserKitsTest, ABrokenKitIsRefusedWithItsLine) {
  UserKits kits(kits_dir_, log_);
  auto s = kits.stage({"name: mine\nkind: agent\nentry: x\n", {}});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, kBadRequest);
  EXPECT_NE(s.error().message.find("kit.yaml:3:"), std::string::npos) << s.error().message;
  // A source file the bundle does not carry.
  auto m =
      kits.stage({"name: mine\nkind: agent\nentry: [x]\n"
                  "files: [{path: ~/.a, source: files/missing}]\n",
                  {}});
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message.find("kit.yaml:4:"), std::string::npos) << m.error().message;
  // A path out of the kit's directory never reaches the disk.
  auto e = kits.stage({"name: mine\nkind: agent\nentry: [x]\n", {{"../../escape", "x"}}});
  ASSERT_FALSE(e);
  EXPECT_FALSE(path_exists(dir_->path() + "/escape"));
  EXPECT_TRUE(list_dir(kits_dir_)->empty());
}

TEST_F(UserKitsTest, ACopyThatNoLongerParsesIsLeftOutAtStart) {
  ASSERT_TRUE(make_dirs(kits_dir_ + "/box"));
  ASSERT_TRUE(write_file_atomic(kits_dir_ + "/box/kit.yaml", "name: [broken\n"));
  UserKits kits(kits_dir_, log_);
  EXPECT_FALSE(kits.find("box"));
  EXPECT_TRUE(kits.sandboxes().empty());
}

}  // namespace
}  // namespace sbx::daemon
