// SandboxManager's state machine with real agent links but no QEMU: the
// "VMs" are local sbx-agent processes (AgentLauncher).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "base/fd.h"
#include "base/files.h"
#include "daemon/agent_launcher.h"
#include "daemon/sandbox_manager.h"
#include "daemon/sandbox_paths.h"

namespace sbx::daemon {
namespace {

using namespace std::chrono_literals;
using K = GuestChannel::Event::Kind;

struct Output {
  std::string out;
  int exit_code = -1;
  std::string error;
};

Output collect(const std::shared_ptr<GuestChannel>& ch) {
  Output o;
  for (;;) {
    auto e = ch->next_event();
    if (e.kind == K::kStdout || e.kind == K::kStderr) {
      o.out += e.data;
      ch->consumed(e.data.size());
    }
    if (e.kind == K::kExit) {
      o.exit_code = e.exit.exit_code;
      return o;
    }
    if (e.kind == K::kError) {
      o.error = e.data;
      return o;
    }
  }
}

std::string host_user() {
  passwd* pw = getpwuid(getuid());
  return pw ? pw->pw_name : "root";
}

class LifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::create("sbx-life");
    ASSERT_TRUE(d.ok());
    dir_.emplace(std::move(*d));
    cfg_.paths.runtime = dir_->path() + "/run";
    cfg_.paths.state = dir_->path() + "/state";
    cfg_.paths.cache = dir_->path() + "/cache";
    cfg_.paths.config = dir_->path() + "/config";
    ASSERT_TRUE(cfg_.paths.ensure().ok());
    workspace_ = dir_->path() + "/ws";
    ASSERT_TRUE(make_dirs(workspace_).ok());
    open_manager();
  }
  void TearDown() override { mgr_.reset(); }

  void open_manager() {
    mgr_.reset();
    auto st = Store::open(cfg_.paths.database());
    ASSERT_TRUE(st.ok());
    auto l = std::make_unique<testing::AgentLauncher>(cfg_.paths, SBX_AGENT_PATH, log_);
    launcher_ = l.get();
    mgr_ = std::make_unique<SandboxManager>(cfg_, std::move(*st), std::move(l), log_,
                                            HostFacts{8ull << 30, 2});
    mgr_->set_on_removed([this](const std::string& n) { removed_.push_back(n); });
    mgr_->set_on_link_up([this](const std::string& n, bool, const std::shared_ptr<AgentLink>& l) {
      links_up_.push_back(n);
      EXPECT_TRUE(l && l->connected());
    });
    mgr_->set_on_link_down([this](const std::string& n) { links_down_.push_back(n); });
  }

  Result<proto::SandboxInfo> create(const std::string& name, bool start) {
    proto::CreateRequest r;
    r.name = name;
    r.workspace = workspace_;
    r.start = start;
    return mgr_->create(r);
  }
  proto::ExecRequest command(std::vector<std::string> argv) {
    proto::ExecRequest r;
    r.argv = std::move(argv);
    r.user = host_user();  // the sandbox's default ("agent") is a guest user
    return r;
  }
  std::string status(const std::string& name) {
    auto g = mgr_->get(name);
    return g ? g->status : "error: " + g.error().message;
  }
  /// Waits until `pid` is gone (reaped by its owner or not ours any more).
  static bool gone(pid_t pid) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (::kill(pid, 0) != 0) return true;
      std::this_thread::sleep_for(10ms);  // polling a condition with a deadline
    }
    return false;
  }

  std::optional<TempDir> dir_;
  DaemonConfig cfg_;
  std::string workspace_;
  Logger log_{stderr, LogLevel::kError};
  testing::AgentLauncher* launcher_ = nullptr;
  std::unique_ptr<SandboxManager> mgr_;
  std::vector<std::string> removed_, links_up_, links_down_;
};

TEST_F(LifecycleTest, CreateStopsThenStartRuns) {
  auto c = create("box", /*start=*/false);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->status, "stopped");
  EXPECT_EQ(c->template_id, testing::AgentLauncher::kTemplate);
  EXPECT_EQ(launcher_->boots(), 0);
  auto s = mgr_->start("box");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->status, "running");
  EXPECT_EQ(status("box"), "running");
  EXPECT_EQ(links_up_, std::vector<std::string>{"box"});
  // Starting a running sandbox boots nothing.
  ASSERT_TRUE(mgr_->start("box").ok());
  EXPECT_EQ(launcher_->boots(), 1);
}

TEST_F(LifecycleTest, ExecRunsInTheWorkspace) {
  ASSERT_TRUE(create("box", /*start=*/true).ok());
  auto ch = mgr_->exec("box", command({"pwd"}));
  ASSERT_TRUE(ch.ok()) << ch.error().message;
  auto o = collect(*ch);
  EXPECT_EQ(o.exit_code, 0) << o.error;
  EXPECT_EQ(o.out, workspace_ + "\n");
}

TEST_F(LifecycleTest, ExecStartsAStoppedSandbox) {
  ASSERT_TRUE(create("box", /*start=*/false).ok());
  auto ch = mgr_->exec("box", command({"echo", "hi"}));
  ASSERT_TRUE(ch.ok()) << ch.error().message;
  EXPECT_EQ(collect(*ch).out, "hi\n");
  EXPECT_EQ(status("box"), "running");
}

TEST_F(LifecycleTest, ExecOfAMissingProgramCarriesExitCode127) {
  ASSERT_TRUE(create("box", /*start=*/true).ok());
  auto ch = mgr_->exec("box", command({"/no/such/program"}));
  ASSERT_FALSE(ch.ok());
  EXPECT_EQ(ch.error().exit_code, 127);
  EXPECT_NE(ch.error().message.find("/no/such/program"), std::string::npos);
}

TEST_F(LifecycleTest, StopEndsTheGuestAndStartBootsAgain) {
  ASSERT_TRUE(create("box", /*start=*/true).ok());
  pid_t first = launcher_->guest_pid("box");
  ASSERT_GT(first, 0);
  auto s = mgr_->stop("box");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->status, "stopped");
  EXPECT_TRUE(gone(first));
  EXPECT_EQ(links_down_, std::vector<std::string>{"box"});
  EXPECT_FALSE(path_exists(SandboxPaths(cfg_.paths, "box").runtime));
  auto again = mgr_->start("box");
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->status, "running");
  EXPECT_EQ(launcher_->boots(), 2);
  EXPECT_NE(launcher_->guest_pid("box"), first);
  auto ch = mgr_->exec("box", command({"true"}));
  ASSERT_TRUE(ch.ok()) << ch.error().message;
  EXPECT_EQ(collect(*ch).exit_code, 0);
}

TEST_F(LifecycleTest, RemoveNeedsForceWhileRunning) {
  ASSERT_TRUE(create("box", /*start=*/true).ok());
  pid_t guest = launcher_->guest_pid("box");
  auto r = mgr_->remove("box", /*force=*/false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, kConflict);
  EXPECT_EQ(status("box"), "running");
  ASSERT_TRUE(mgr_->remove("box", /*force=*/true).ok());
  EXPECT_TRUE(gone(guest));
  EXPECT_EQ(removed_, std::vector<std::string>{"box"});
  EXPECT_FALSE(path_exists(SandboxPaths(cfg_.paths, "box").dir));
  EXPECT_EQ(mgr_->get("box").error().code, kNotFound);
}

TEST_F(LifecycleTest, AGuestThatDiesIsFailedWithItsConsole) {
  launcher_->set_console("[ 1.0] kernel panic");
  ASSERT_TRUE(create("box", /*start=*/true).ok());
  ASSERT_EQ(::kill(launcher_->guest_pid("box"), SIGKILL), 0);
  // The link notices the dead agent first or the process check does: the
  // sandbox is failed either way, with the console in its error.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (status("box") == "running" && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  auto g = mgr_->get("box");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->status, "failed");
  EXPECT_NE(g->error.find("console tail:\n[ 1.0] kernel panic"), std::string::npos) << g->error;
  EXPECT_EQ(links_down_, std::vector<std::string>{"box"});
  // It can be started again.
  auto s = mgr_->start("box");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->status, "running");
  EXPECT_TRUE(s->error.empty());
}

TEST_F(LifecycleTest, InvalidUtf8FromTheConsoleStillLists) {
  launcher_->set_console("garbage \xff\xfe from the guest");
  ASSERT_TRUE(create("box", /*start=*/true).ok());
  ASSERT_EQ(::kill(launcher_->guest_pid("box"), SIGKILL), 0);
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (status("box") == "running" && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  auto l = mgr_->list();
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->size(), 1u);
  EXPECT_EQ((*l)[0].status, "failed");
  EXPECT_NE((*l)[0].error.find("garbage \xEF\xBF\xBD\xEF\xBF\xBD from the guest"),
            std::string::npos)
      << (*l)[0].error;
  std::string json;
  EXPECT_NO_THROW(json = proto::to_json(*l));
  EXPECT_NO_THROW((void)nlohmann::json::parse(json).dump());
}

TEST_F(LifecycleTest, AFailedBootIsRecordedWithSanitisedConsole) {
  launcher_->set_console("no init \xc0");
  launcher_->set_fail_boots(true);
  ASSERT_TRUE(create("box", /*start=*/false).ok());
  auto s = mgr_->start("box");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("did not answer"), std::string::npos);
  auto g = mgr_->get("box");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->status, "failed");
  EXPECT_NE(g->error.find("console tail:\nno init \xEF\xBF\xBD"), std::string::npos) << g->error;
  EXPECT_NO_THROW((void)proto::to_json(*g));
}

TEST_F(LifecycleTest, RecoverAdoptsLiveGuestsAndFailsTheOthers) {
  ASSERT_TRUE(create("alive", /*start=*/true).ok());
  ASSERT_TRUE(create("dead", /*start=*/true).ok());
  ASSERT_TRUE(create("idle", /*start=*/false).ok());
  mgr_->detach_all();  // what a daemon exit does
  links_up_.clear();
  open_manager();  // a new daemon over the same store
  launcher_->set_adoptable({"alive"});
  mgr_->recover();
  EXPECT_EQ(links_up_, std::vector<std::string>{"alive"});
  EXPECT_EQ(status("alive"), "running");
  auto ch = mgr_->exec("alive", command({"echo", "adopted"}));
  ASSERT_TRUE(ch.ok()) << ch.error().message;
  EXPECT_EQ(collect(*ch).out, "adopted\n");
  auto g = mgr_->get("dead");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->status, "failed");
  EXPECT_EQ(g->error, "the VM was gone when sandboxd restarted");
  EXPECT_EQ(status("idle"), "stopped");  // nothing to adopt
  EXPECT_EQ(launcher_->boots(), 0);
}

TEST_F(LifecycleTest, PublishedPortOpensWhenTheSandboxRuns) {
  ASSERT_TRUE(create("box", /*start=*/false).ok());
  proto::PortMapping m;
  m.sandbox_port = 8080;
  auto p = mgr_->publish("box", m);
  ASSERT_TRUE(p.ok()) << p.error().message;
  auto connects = [&] {
    Fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(p->host_port);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    return ::connect(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  };
  EXPECT_FALSE(connects());  // reserved only
  auto ports = mgr_->ports("box");
  ASSERT_TRUE(ports.ok());
  ASSERT_EQ(ports->size(), 1u);
  ASSERT_TRUE(mgr_->start("box").ok());
  EXPECT_TRUE(connects());
  ASSERT_TRUE(mgr_->unpublish("box", *p).ok());
  EXPECT_FALSE(connects());
  EXPECT_TRUE(mgr_->ports("box")->empty());
}

}  // namespace
}  // namespace sbx::daemon
