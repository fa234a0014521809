// Drives the real sbx-agent (test mode, over a socketpair) through the
// daemon's AgentLink: the same code path a VM uses, minus the VM.
#include "daemon/agent_link.h"

#include <gtest/gtest.h>
#include <signal.h>

#include "base/child_process.h"
#include "daemon/agent_launcher.h"

namespace sbx::daemon {
namespace {

using namespace std::chrono_literals;
using K = GuestChannel::Event::Kind;

class AgentLinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Junk first: the link must resynchronise past a stale tail.
    auto a =
        testing::start_local_agent(SBX_AGENT_PATH, log_, "stale bytes from an earlier session");
    ASSERT_TRUE(a.ok()) << a.error().message;
    agent_ = std::move(a->process);
    link_ = a->link;
  }
  void TearDown() override { testing::stop_local_agent(agent_, link_); }

  struct Collected {
    std::string out, err;
    proto::ExitInfo exit;
    bool exited = false;
    std::string error;
  };
  static Collected collect(const std::shared_ptr<GuestChannel>& ch) {
    Collected c;
    for (;;) {
      auto e = ch->next_event();
      if (e.kind == K::kStdout) c.out += e.data;
      if (e.kind == K::kStderr) c.err += e.data;
      if (e.kind == K::kStdout || e.kind == K::kStderr) ch->consumed(e.data.size());
      if (e.kind == K::kExit) {
        c.exit = e.exit;
        c.exited = true;
        return c;
      }
      if (e.kind == K::kError) {
        c.error = e.data;
        return c;
      }
    }
  }
  std::shared_ptr<GuestChannel> open(std::vector<std::string> argv) {
    proto::ExecRequest r;
    r.argv = std::move(argv);
    auto ch = link_->open_exec(r, 10s);
    EXPECT_TRUE(ch.ok()) << ch.error().message;
    return ch.ok() ? *ch : nullptr;
  }

  Logger log_{stderr, LogLevel::kWarn};
  ChildProcess agent_;
  std::shared_ptr<AgentLink> link_;
};

TEST_F(AgentLinkTest, PingAndInfo) {
  auto r = link_->control("ping", 5s);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->ok);
  auto bad = link_->control("no-such-op", 5s);
  ASSERT_TRUE(bad.ok());
  EXPECT_FALSE(bad->ok);
  EXPECT_NE(link_->agent_info().find("version"), std::string::npos);
}

TEST_F(AgentLinkTest, ExecStdoutStderrAndExitCode) {
  auto ch = open({"sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(ch);
  auto c = collect(ch);
  ASSERT_TRUE(c.exited) << c.error;
  EXPECT_EQ(c.out, "out\n");
  EXPECT_EQ(c.err, "err\n");
  EXPECT_EQ(c.exit.exit_code, 3);
}

TEST_F(AgentLinkTest, SignalDeathIs128PlusN) {
  auto ch = open({"sh", "-c", "kill -9 $$"});
  ASSERT_TRUE(ch);
  auto c = collect(ch);
  ASSERT_TRUE(c.exited);
  EXPECT_EQ(c.exit.exit_code, 137);
  EXPECT_EQ(c.exit.signal, 9);
}

TEST_F(AgentLinkTest, StdinRoundTripsWithCredit) {
  auto ch = open({"sha256sum"});
  ASSERT_TRUE(ch);
  // Several windows' worth: write_stdin must wait for the agent's credit.
  std::string data(3 * proto::kInitialWindow + 12345, 'x');
  ASSERT_TRUE(ch->write_stdin(data).ok());
  ASSERT_TRUE(ch->close_stdin().ok());
  auto c = collect(ch);
  ASSERT_TRUE(c.exited) << c.error;
  EXPECT_EQ(c.exit.exit_code, 0);
  auto expect = run_checked(
      {"sh", "-c",
       "head -c " + std::to_string(data.size()) + " /dev/zero | tr '\\0' x | sha256sum"});
  ASSERT_TRUE(expect.ok());
  EXPECT_EQ(c.out, *expect);
}

TEST_F(AgentLinkTest, LargeOutputArrivesWhole) {
  auto ch = open({"head", "-c", "20000000", "/dev/zero"});
  ASSERT_TRUE(ch);
  auto c = collect(ch);
  ASSERT_TRUE(c.exited) << c.error;
  EXPECT_EQ(c.out.size(), 20000000u);
}

TEST_F(AgentLinkTest, StalledChannelDoesNotBlockAnother) {
  // The first channel fills its window and is never credited.
  auto busy = open({"head", "-c", "50000000", "/dev/zero"});
  ASSERT_TRUE(busy);
  size_t got = 0;
  while (got < proto::kInitialWindow) {
    auto e = busy->next_event();
    ASSERT_EQ(e.kind, K::kStdout);
    got += e.data.size();
  }
  EXPECT_EQ(got, proto::kInitialWindow);
  auto quick = open({"echo", "still responsive"});
  ASSERT_TRUE(quick);
  auto c = collect(quick);
  ASSERT_TRUE(c.exited);
  EXPECT_EQ(c.out, "still responsive\n");
  busy->abort();
}

TEST_F(AgentLinkTest, MissingProgramIs127) {
  proto::ExecRequest r;
  r.argv = {"/no/such/program"};
  auto ch = link_->open_exec(r, 10s);
  ASSERT_FALSE(ch.ok());
  EXPECT_EQ(ch.error().exit_code, 127);
  EXPECT_NE(ch.error().message.find("/no/such/program"), std::string::npos);
}

TEST_F(AgentLinkTest, SignalInterruptsCommand) {
  auto ch = open({"sleep", "100"});
  ASSERT_TRUE(ch);
  ASSERT_TRUE(ch->signal(SIGINT).ok());
  auto c = collect(ch);
  ASSERT_TRUE(c.exited);
  EXPECT_EQ(c.exit.exit_code, 130);
}

TEST_F(AgentLinkTest, AgentDeathFailsOpenChannels) {
  auto ch = open({"sleep", "100"});
  ASSERT_TRUE(ch);
  ASSERT_TRUE(agent_.kill(SIGKILL).ok());
  auto c = collect(ch);
  EXPECT_FALSE(c.exited);
  EXPECT_NE(c.error.find("agent link lost"), std::string::npos);
  EXPECT_FALSE(link_->connected());
  EXPECT_FALSE(link_->control("ping", 1s).ok());
}

}  // namespace
}  // namespace sbx::daemon
