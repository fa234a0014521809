// TemplateService::create_sandbox with a user's kit (sbx create --kit),
// on local sbx-agent "VMs" (AgentLauncher): the kit is checked again, kept
// for its sandbox, refused under a built-in agent's name, and goes with the
// sandbox.
#include <gtest/gtest.h>

#include "base/files.h"
#include "daemon/agent_launcher.h"
#include "daemon/kit_catalog.h"
#include "daemon/template_service.h"
#include "daemon/user_kits.h"

namespace sbx::daemon {
namespace {

class UserKitCreateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::create("sbx-ukc");
    ASSERT_TRUE(d);
    dir_.emplace(std::move(*d));
    cfg_.paths.runtime = dir_->path() + "/run";
    cfg_.paths.state = dir_->path() + "/state";
    cfg_.paths.cache = dir_->path() + "/cache";
    cfg_.paths.config = dir_->path() + "/config";
    ASSERT_TRUE(cfg_.paths.ensure());
    ws_ = dir_->path() + "/ws";
    ASSERT_TRUE(make_dirs(ws_));
    auto st = Store::open(cfg_.paths.database());
    ASSERT_TRUE(st);
    mgr_ = std::make_unique<SandboxManager>(
        cfg_, std::move(*st),
        std::make_unique<testing::AgentLauncher>(cfg_.paths, SBX_AGENT_PATH, log_), log_,
        HostFacts{8ull << 30, 2});
    auto p = PolicyService::open(cfg_.paths.state + "/policy.db", log_);
    ASSERT_TRUE(p);
    policy_ = std::move(*p);
    provisioner_ = std::make_unique<GuestProvisioner>(HostCaSources{}, log_);
    user_kits_ = std::make_unique<UserKits>(cfg_.paths.state + "/kits", log_);
    // As sandboxd wires it (daemon/main.cc).
    mgr_->set_on_removed([this](const std::string& name) {
      (void)policy_->forget_sandbox(name);
      (void)user_kits_->remove(name);
    });
    templates_ = std::make_unique<TemplateService>(cfg_, *mgr_, *policy_, *provisioner_,
                                                   make_kit_lookup(nullptr, false), log_);
    templates_->set_user_kits(user_kits_.get());
  }
  void TearDown() override {
    templates_.reset();
    mgr_.reset();
  }
  proto::CreateRequest request(const std::string& yaml) {
    proto::CreateRequest r;
    r.workspace = ws_;
    r.start = false;
    r.kit = proto::KitBundle{yaml, {{"files/note", "from the kit\n"}}};
    return r;
  }

  std::optional<TempDir> dir_;
  DaemonConfig cfg_;
  std::string ws_;
  Logger log_{stderr, LogLevel::kError};
  std::unique_ptr<SandboxManager> mgr_;
  std::unique_ptr<PolicyService> policy_;
  std::unique_ptr<GuestProvisioner> provisioner_;
  std::unique_ptr<UserKits> user_kits_;
  std::unique_ptr<TemplateService> templates_;
};

const char* kKit =
    "name: mine\nkind: agent\nentry: [tool, --yes]\n"
    "files: [{path: ~/.note, source: files/note}]\n"
    "allow: [api.mine.example, '*.cdn.mine.example']\n";

// The allow rules scoped to `sandbox`, as "RESOURCE".
std::vector<std::string> allows_of(PolicyService& p, const std::string& sandbox) {
  std::vector<std::string> out;
  auto l = p.listing();
  EXPECT_TRUE(l);
  if (!l) return out;
  for (auto& r : l->rules)
    if (r.scope == sandbox && r.action == "allow") out.push_back(r.resource);
  return out;
}

TEST_F(UserKitCreateTest, TheSandboxRunsTheKitItWasSentAndKeepsACopy) {
  auto s = templates_->create_sandbox(request(kKit), nullptr);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->agent, "mine");
  EXPECT_EQ(s->name, "mine-ws");
  std::string copy = cfg_.paths.state + "/kits/mine-ws";
  EXPECT_TRUE(path_exists(copy + "/kit.yaml"));
  EXPECT_EQ(*read_file(copy + "/files/note"), "from the kit\n");
  auto k = user_kits_->find("mine-ws");
  ASSERT_TRUE(k);
  EXPECT_EQ(k->entry, (std::vector<std::string>{"tool", "--yes"}));
  // The domains the agent needs are the sandbox's allow rules.
  EXPECT_EQ(allows_of(*policy_, "mine-ws"),
            (std::vector<std::string>{"api.mine.example", "*.cdn.mine.example"}));
  // rm takes the copy and the rules with it.
  ASSERT_TRUE(mgr_->remove("mine-ws", true));
  EXPECT_FALSE(path_exists(copy));
  EXPECT_FALSE(user_kits_->find("mine-ws"));
  EXPECT_TRUE(allows_of(*policy_, "mine-ws").empty());
}

TEST_F(UserKitCreateTest, AKitMayNotTakeABuiltInAgentsName) {
  auto s = templates_->create_sandbox(request("name: shell\nkind: agent\nentry: [sh]\n"), nullptr);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, kBadRequest);
  EXPECT_NE(s.error().message.find("your kit is named 'shell', which is a built-in agent's name"),
            std::string::npos)
      << s.error().message;
  EXPECT_TRUE(mgr_->list()->empty());
  EXPECT_TRUE(list_dir(cfg_.paths.state + "/kits")->empty());
}

TEST_F(UserKitCreateTest, ABrokenKitIsABadRequestNamingItsLine) {
  auto s = templates_->create_sandbox(request("name: mine\nkind: agent\nentry: [x]\nbogus: 1\n"),
                                      nullptr);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, kBadRequest);
  EXPECT_NE(s.error().message.find("kit.yaml:4:1: "), std::string::npos) << s.error().message;
  EXPECT_TRUE(mgr_->list()->empty());
}

TEST_F(UserKitCreateTest, TheKitsNameIsNoAgentWithoutTheKit) {
  ASSERT_TRUE(templates_->create_sandbox(request(kKit), nullptr));
  proto::CreateRequest r;
  r.workspace = ws_;
  r.start = false;
  r.agent = "mine";
  r.name = "other";
  auto s = templates_->create_sandbox(r, nullptr);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("unknown agent 'mine'"), std::string::npos) << s.error().message;
}

TEST_F(UserKitCreateTest, AFailedCreateKeepsNoCopy) {
  auto first = templates_->create_sandbox(request(kKit), nullptr);
  ASSERT_TRUE(first);
  // The same name again: 409, and the first sandbox's copy is untouched.
  auto again = templates_->create_sandbox(request(kKit), nullptr);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, kConflict);
  EXPECT_TRUE(user_kits_->find("mine-ws"));
  auto names = list_dir(cfg_.paths.state + "/kits");
  ASSERT_TRUE(names);
  EXPECT_EQ(*names, std::vector<std::string>{"mine-ws"});
}

TEST_F(UserKitCreateTest, ASandboxCreatedWithoutStartingIsProvisionedAtItsFirstStart) {
  std::vector<std::pair<std::string, bool>> calls;  // sandbox, host_config
  mgr_->set_on_created([&](const proto::SandboxInfo& s, const proto::CreateRequest& req,
                           const std::shared_ptr<AgentLink>& link, const auto&) {
    EXPECT_TRUE(link);
    calls.emplace_back(s.name, req.host_config);
  });
  auto r = request(kKit);
  r.host_config = false;
  ASSERT_TRUE(templates_->create_sandbox(r, nullptr));
  EXPECT_TRUE(calls.empty());
  ASSERT_TRUE(mgr_->start("mine-ws"));
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0], (std::pair<std::string, bool>{"mine-ws", false}));
  // Once only.
  ASSERT_TRUE(mgr_->stop("mine-ws"));
  ASSERT_TRUE(mgr_->start("mine-ws"));
  EXPECT_EQ(calls.size(), 1u);
}

}  // namespace
}  // namespace sbx::daemon
