// GuestProvisioner over a real sbx-agent in its local test mode: the user's
// host_config files reach the guest home as one tar stream, the ones that
// hold tokens do not.
#include "daemon/guest_provisioner.h"

#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/files.h"
#include "daemon/agent_launcher.h"

namespace sbx::daemon {
namespace {

std::string host_user() {
  passwd* pw = getpwuid(getuid());
  return pw ? pw->pw_name : "root";
}

class GuestProvisionerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto a = testing::start_local_agent(SBX_AGENT_PATH, log_);
    ASSERT_TRUE(a.ok()) << a.error().message;
    agent_ = std::move(a->process);
    link_ = a->link;
    auto d = TempDir::create("sbx-prov");
    ASSERT_TRUE(d);
    dir_.emplace(std::move(*d));
    host_home_ = dir_->path() + "/host-home";
    guest_home_ = dir_->path() + "/guest-home";
    ASSERT_TRUE(make_dirs(host_home_ + "/.claude/agents"));
    ASSERT_TRUE(make_dirs(guest_home_));
  }
  void TearDown() override { testing::stop_local_agent(agent_, link_); }

  Logger log_{stderr, LogLevel::kError};
  ChildProcess agent_;
  std::shared_ptr<AgentLink> link_;
  std::optional<TempDir> dir_;
  std::string host_home_, guest_home_;
};

TEST_F(GuestProvisionerTest, HostConfigComesAlongWithoutTokens) {
  ASSERT_TRUE(
      write_file_atomic(host_home_ + "/.claude/settings.json", "{\"theme\": \"dark\"}\n", 0600));
  ASSERT_TRUE(write_file_atomic(host_home_ + "/.claude/agents/reviewer.md", "# reviewer\n"));
  ASSERT_TRUE(write_file_atomic(host_home_ + "/.claude/agents/leaky.md",
                                "use key sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789\n"));
  std::vector<kit::HostConfig> wanted = {
      {".claude/settings.json"}, {".claude/agents/"}, {".claude/CLAUDE.md"} /* absent */};
  GuestProvisioner p(HostCaSources{}, log_);
  std::vector<std::string> skipped;
  auto n = p.copy_host_config(
      *link_, wanted, host_home_, host_user(), [&](const std::string& m) { skipped.push_back(m); },
      guest_home_);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 2u);
  EXPECT_EQ(*read_file(guest_home_ + "/.claude/settings.json"), "{\"theme\": \"dark\"}\n");
  EXPECT_EQ(*read_file(guest_home_ + "/.claude/agents/reviewer.md"), "# reviewer\n");
  EXPECT_FALSE(path_exists(guest_home_ + "/.claude/agents/leaky.md"));
  struct stat st {};
  ASSERT_EQ(::stat((guest_home_ + "/.claude/settings.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_uid, ::getuid());
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_NE(skipped[0].find("~/.claude/agents/leaky.md not copied: looks like it holds a token"),
            std::string::npos)
      << skipped[0];
}

TEST_F(GuestProvisionerTest, NothingToCopyRunsNothing) {
  GuestProvisioner p(HostCaSources{}, log_);
  auto n = p.copy_host_config(*link_, {{".nothing-here"}}, host_home_, host_user(), nullptr,
                              guest_home_);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 0u);
  EXPECT_TRUE(list_dir(guest_home_)->empty());
}

}  // namespace
}  // namespace sbx::daemon
