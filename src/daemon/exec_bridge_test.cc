// bridge_exec between a client socket (the CLI's end of the upgraded API
// connection) and an exec channel of the real sbx-agent in test mode.
#include "daemon/exec_bridge.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <chrono>
#include <future>
#include <optional>
#include <thread>

#include "base/child_process.h"
#include "daemon/agent_launcher.h"
#include "proto/api.h"
#include "proto/frame.h"

namespace sbx::daemon {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using proto::FrameType;

class ExecBridgeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::signal(SIGPIPE, SIG_IGN);  // as sandboxd's main() does: a closed peer is EPIPE
    auto a = testing::start_local_agent(SBX_AGENT_PATH, log_);
    ASSERT_TRUE(a.ok()) << a.error().message;
    agent_ = std::move(a->process);
    link_ = a->link;
  }
  void TearDown() override {
    client_.reset();
    if (bridge_.joinable()) bridge_.join();  // the closed client ends it
    testing::stop_local_agent(agent_, link_);
  }
  // Starts the command and bridges it on a thread; client_ is the CLI's end.
  void start(std::vector<std::string> argv, std::string pending = "") {
    proto::ExecRequest r;
    r.argv = std::move(argv);
    auto ch = link_->open_exec(r, 10s);
    ASSERT_TRUE(ch.ok()) << ch.error().message;
    auto sp = socket_pair();
    ASSERT_TRUE(sp.ok());
    client_ = std::move(sp->first);
    done_ = finished_.get_future();
    bridge_ = std::thread(
        [this, fd = std::move(sp->second), ch = *ch, pending = std::move(pending)]() mutable {
          bridge_exec(fd.get(), std::move(pending), ch, log_);
          finished_.set_value();
        });
  }
  bool bridge_returns_within(std::chrono::milliseconds limit) {
    return done_.wait_for(limit) == std::future_status::ready;
  }
  void send(FrameType t, std::string_view payload) {
    std::string b;
    proto::encode_into(b, proto::kExecStreamChannel, t, payload);
    ASSERT_TRUE(write_all(client_.get(), b).ok());
  }
  // The next frame from the bridge, or nullopt on EOF or after `limit`.
  std::optional<proto::Frame> next(std::chrono::milliseconds limit = 20s) {
    auto deadline = Clock::now() + limit;
    char buf[65536];
    for (;;) {
      auto f = dec_.next();
      if (!f) return std::nullopt;
      if (f->has_value()) return std::move(**f);
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{client_.get(), POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
      ssize_t n = ::recv(client_.get(), buf, sizeof buf, 0);
      if (n <= 0) {
        eof_ = true;
        return std::nullopt;
      }
      dec_.feed(std::string_view(buf, static_cast<size_t>(n)));
    }
  }
  struct Outcome {
    std::string out, err;
    std::optional<proto::ExitInfo> exit;
    uint64_t window = 0;  // stdin credit the bridge returned
  };
  // Reads frames up to EXIT, returning output credit if `credit`.
  Outcome collect(bool credit = true) {
    Outcome o;
    while (auto f = next()) {
      if (f->channel != proto::kExecStreamChannel) continue;
      if (f->type == FrameType::kData) o.out += f->payload;
      if (f->type == FrameType::kDataErr) o.err += f->payload;
      if (credit && (f->type == FrameType::kData || f->type == FrameType::kDataErr)) {
        // Not asserted: the bridge may already have sent EXIT and closed its
        // end, and then this credit has nobody to go to.
        std::string b;
        proto::encode_into(b, proto::kExecStreamChannel, FrameType::kWindow,
                           proto::encode_u32(static_cast<uint32_t>(f->payload.size())));
        (void)write_all(client_.get(), b);
      }
      if (f->type == FrameType::kWindow) o.window += *proto::decode_u32(f->payload);
      if (f->type == FrameType::kExit) {
        auto e = proto::parse_exit(f->payload);
        if (e) o.exit = *e;
        break;
      }
    }
    return o;
  }

  Logger log_{stderr, LogLevel::kError};
  ChildProcess agent_;
  std::shared_ptr<AgentLink> link_;
  Fd client_;
  proto::FrameDecoder dec_;
  bool eof_ = false;  // the bridge closed the client connection
  std::promise<void> finished_;
  std::future<void> done_;
  std::thread bridge_;
};

TEST_F(ExecBridgeTest, StdinToStdoutAndExitCode) {
  start({"/bin/cat"});
  send(FrameType::kData, "hello ");
  send(FrameType::kData, "bridge");
  send(FrameType::kEof, "");
  auto o = collect();
  EXPECT_EQ(o.out, "hello bridge");
  EXPECT_EQ(o.window, 12u);  // every stdin byte credited back
  ASSERT_TRUE(o.exit);
  EXPECT_EQ(o.exit->exit_code, 0);
  EXPECT_TRUE(bridge_returns_within(10s));
  EXPECT_FALSE(next(5s));
  EXPECT_TRUE(eof_) << "the bridge must close the connection after EXIT";
}

TEST_F(ExecBridgeTest, StderrAndANonZeroExit) {
  // No EOF is sent: the command never reads stdin, and once it has exited
  // the bridge may already have closed the connection.
  start({"/bin/sh", "-c", "printf out; printf oops >&2; exit 3"});
  auto o = collect();
  EXPECT_EQ(o.out, "out");
  EXPECT_EQ(o.err, "oops");
  ASSERT_TRUE(o.exit);
  EXPECT_EQ(o.exit->exit_code, 3);
}

TEST_F(ExecBridgeTest, BytesReadPastTheRequestAreTheFirstFrames) {
  std::string pending;
  proto::encode_into(pending, proto::kExecStreamChannel, FrameType::kData, "early");
  proto::encode_into(pending, proto::kExecStreamChannel, FrameType::kEof, "");
  start({"/bin/cat"}, pending);  // nothing else is ever sent
  auto o = collect();
  EXPECT_EQ(o.out, "early");
  ASSERT_TRUE(o.exit);
  EXPECT_EQ(o.exit->exit_code, 0);
}

TEST_F(ExecBridgeTest, OutputWaitsForTheClientsCredit) {
  const size_t total = 3 * proto::kInitialWindow;
  start({"/bin/sh", "-c", "head -c " + std::to_string(total) + " /dev/zero"});
  send(FrameType::kEof, "");
  // Without WINDOWs the bridge stops at exactly one initial window.
  size_t got = 0;
  while (got < proto::kInitialWindow) {
    auto f = next();
    ASSERT_TRUE(f);
    ASSERT_EQ(f->type, FrameType::kData);
    got += f->payload.size();
  }
  EXPECT_EQ(got, proto::kInitialWindow);
  EXPECT_FALSE(next(500ms)) << "output beyond the client's credit";
  // Credit for everything: the rest and EXIT arrive.
  send(FrameType::kWindow, proto::encode_u32(static_cast<uint32_t>(total)));
  auto o = collect(false);
  EXPECT_EQ(got + o.out.size(), total);
  ASSERT_TRUE(o.exit);
  EXPECT_EQ(o.exit->exit_code, 0);
}

TEST_F(ExecBridgeTest, ClientDisconnectKillsTheCommand) {
  start({"/bin/sleep", "60"});
  EXPECT_FALSE(bridge_returns_within(100ms));
  client_.reset();
  EXPECT_TRUE(bridge_returns_within(10s));
}

TEST_F(ExecBridgeTest, MalformedFrameEndsTheSession) {
  start({"/bin/sleep", "60"});
  // A frame header announcing a payload over the limit.
  std::string bad(proto::kHeaderSize, '\xff');
  ASSERT_TRUE(write_all(client_.get(), bad).ok());
  EXPECT_TRUE(bridge_returns_within(10s));
}

}  // namespace
}  // namespace sbx::daemon
