// Integration tests: the real sbx-agent binary in --serve-fd mode, driven
// over a socketpair by AgentHarness.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <random>
#include <thread>

#include "agent/agent_harness.h"
#include "base/files.h"

namespace sbx::agent::testing {
namespace {

using namespace std::chrono_literals;
using proto::Frame;
using proto::FrameType;
using nlohmann::json;

/// Re-checks `done` until it holds or `timeout` has passed; true if it
/// held. For conditions with nothing to wait on (a process gone, a file
/// written by a detached process): the pause is only the re-check interval.
template <class Pred>
bool wait_until(Pred done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

class AgentLinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(h.started()) << "could not start " << SBX_AGENT_PATH;
    auto ack = h.handshake(AgentHarness::nonce('a'));
    ASSERT_TRUE(ack.has_value()) << "no HELLO_ACK";
  }
  AgentHarness h;
};

TEST(AgentLink, HelloAfterJunkGetsAckWithSameNonce) {
  AgentHarness h;
  ASSERT_TRUE(h.started());
  std::string junk = "\x01\x02garbage SBXHELL\xff\xff\xff\xff";
  junk += std::string(100, '\0');
  auto ack = h.handshake(AgentHarness::nonce('n'), junk);
  ASSERT_TRUE(ack.has_value());
  json j = json::parse(*ack);
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(j["agent"], "0.1.0");
  EXPECT_FALSE(j["kernel"].get<std::string>().empty());
  EXPECT_EQ(j["pid1"], false);
}

TEST(AgentLink, ExitsZeroOnLinkEof) {
  AgentHarness h;
  ASSERT_TRUE(h.started());
  ASSERT_TRUE(h.handshake(AgentHarness::nonce('e')));
  h.close_link();
  auto st = h.process().wait_for(5s);
  ASSERT_TRUE(st);
  ASSERT_TRUE(st->has_value()) << "agent did not exit on EOF";
  EXPECT_TRUE((*st)->exited);
  EXPECT_EQ((*st)->code, 0);
}

TEST_F(AgentLinkTest, SameNonceReAcksAndKeepsChannels) {
  h.open(5, exec({"sleep", "100"}));
  auto ok = h.recv_on(5);
  ASSERT_TRUE(ok);
  ASSERT_EQ(ok->type, FrameType::kOpenOk);
  int pid = json::parse(ok->payload)["pid"];
  ASSERT_TRUE(h.handshake(AgentHarness::nonce('a')));
  EXPECT_EQ(kill(pid, 0), 0) << "same-nonce HELLO must not close channels";
  // A new nonce is a new session: the old channel's process is killed.
  ASSERT_TRUE(h.handshake(AgentHarness::nonce('b')));
  EXPECT_TRUE(wait_until([&] { return kill(pid, 0) != 0; }, 2s))
      << "new session must SIGKILL old channels";
}

TEST_F(AgentLinkTest, ControlPingInfoUnknown) {
  h.send(0, FrameType::kControl, proto::to_json(proto::ControlRequest{7, "ping"}));
  h.send(0, FrameType::kControl, proto::to_json(proto::ControlRequest{8, "info"}));
  h.send(0, FrameType::kControl, proto::to_json(proto::ControlRequest{9, "frobnicate"}));
  h.send(0, FrameType::kControl, "{not json");
  for (uint64_t id : {7, 8, 9}) {
    auto f = h.recv_on(0);
    ASSERT_TRUE(f);
    ASSERT_EQ(f->type, FrameType::kControl);
    auto r = proto::parse_control_response(f->payload);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->id, id);
    if (id == 9) {
      EXPECT_FALSE(r->ok);
      EXPECT_NE(r->error.find("frobnicate"), std::string::npos);
    } else {
      EXPECT_TRUE(r->ok);
    }
    if (id == 8) {
      json b = json::parse(r->body);
      EXPECT_GT(b["uptime_ms"].get<uint64_t>(), 0u);
      EXPECT_TRUE(b.contains("kernel"));
      EXPECT_TRUE(b.contains("hostname"));
    }
  }
}

TEST_F(AgentLinkTest, EchoHi) {
  auto o = h.run(1, exec({"echo", "hi"}));
  EXPECT_TRUE(o.opened);
  EXPECT_EQ(o.out, "hi\n");
  EXPECT_EQ(o.err, "");
  EXPECT_TRUE(o.got_eof);
  ASSERT_TRUE(o.got_exit);
  EXPECT_EQ(o.exit.exit_code, 0);
  EXPECT_EQ(o.exit.signal, 0);
}

TEST_F(AgentLinkTest, ExitCodeIsReported) {
  auto o = h.run(1, exec({"sh", "-c", "exit 3"}));
  ASSERT_TRUE(o.got_exit);
  EXPECT_EQ(o.exit.exit_code, 3);
  EXPECT_EQ(o.exit.signal, 0);
}

TEST_F(AgentLinkTest, DeathBySignalIs128PlusN) {
  auto o = h.run(1, exec({"sh", "-c", "kill -9 $$"}));
  ASSERT_TRUE(o.got_exit);
  EXPECT_EQ(o.exit.exit_code, 137);
  EXPECT_EQ(o.exit.signal, 9);
}

TEST_F(AgentLinkTest, StderrArrivesAsDataErr) {
  auto o = h.run(1, exec({"sh", "-c", "echo out; echo err >&2"}));
  ASSERT_TRUE(o.got_exit);
  EXPECT_EQ(o.out, "out\n");
  EXPECT_EQ(o.err, "err\n");
}

TEST_F(AgentLinkTest, StdinRoundTripsThroughCatWithCredit) {
  std::string input;
  for (int i = 0; i < 20000; ++i) input += "line " + std::to_string(i) + "\n";
  ASSERT_LT(input.size(), proto::kInitialWindow);
  h.open(3, exec({"cat"}));
  h.send(3, FrameType::kData, input);
  h.send(3, FrameType::kEof, "");
  ExecOutcome o;
  uint64_t credited = 0;
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!o.got_exit && std::chrono::steady_clock::now() < deadline) {
    auto f = h.recv_on(3);
    ASSERT_TRUE(f) << "timed out; got " << o.out.size() << " bytes";
    if (f->type == FrameType::kWindow) {
      auto n = proto::decode_u32(f->payload);
      ASSERT_TRUE(n);
      credited += *n;
    } else if (f->type == FrameType::kData) {
      o.out += f->payload;
      h.send(3, FrameType::kWindow, proto::encode_u32(f->payload.size()));
    } else if (f->type == FrameType::kExit) {
      o.got_exit = true;
      o.exit = *proto::parse_exit(f->payload);
    }
  }
  ASSERT_TRUE(o.got_exit);
  EXPECT_EQ(o.out, input);
  EXPECT_EQ(credited, input.size()) << "every stdin byte must be credited back";
  EXPECT_EQ(o.exit.exit_code, 0);
}

TEST_F(AgentLinkTest, OpenFailuresCarryDockerCodes) {
  auto o = h.run(1, exec({"no-such-program-xyz"}));
  ASSERT_TRUE(o.failure.has_value());
  EXPECT_EQ(o.failure->code, 127);
  EXPECT_NE(o.failure->error.find("no-such-program-xyz"), std::string::npos);

  auto abs = h.run(2, exec({"/nonexistent/prog"}));
  ASSERT_TRUE(abs.failure.has_value());
  EXPECT_EQ(abs.failure->code, 127);

  auto notexec = h.run(3, exec({"/etc/passwd"}));
  ASSERT_TRUE(notexec.failure.has_value());
  EXPECT_EQ(notexec.failure->code, 126) << notexec.failure->error;

  auto req = exec({"true"});
  req.cwd = "/nonexistent-dir-xyz";
  auto cwd = h.run(4, req);
  ASSERT_TRUE(cwd.failure.has_value());
  EXPECT_EQ(cwd.failure->code, 126);
  EXPECT_NE(cwd.failure->error.find("/nonexistent-dir-xyz"), std::string::npos);

  auto ureq = exec({"true"});
  ureq.user = "no-such-user-xyz";
  auto user = h.run(6, ureq);
  ASSERT_TRUE(user.failure.has_value());
  EXPECT_EQ(user.failure->code, 125);
  EXPECT_NE(user.failure->error.find("no-such-user-xyz"), std::string::npos);

  h.send(7, FrameType::kOpen, "{\"argv\": 5}");
  auto bad = h.recv_on(7);
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->type, FrameType::kOpenFail);

  // Reserved channel ids.
  h.open(proto::kHelloChannel, exec({"true"}));
  auto reserved = h.recv_on(proto::kHelloChannel);
  ASSERT_TRUE(reserved);
  EXPECT_EQ(reserved->type, FrameType::kOpenFail);
}

TEST_F(AgentLinkTest, ChannelInUseIsRejectedWithoutHarm) {
  h.open(9, exec({"sh", "-c", "read x; echo got $x"}));
  auto ok = h.recv_on(9);
  ASSERT_TRUE(ok);
  ASSERT_EQ(ok->type, FrameType::kOpenOk);
  h.open(9, exec({"true"}));
  auto fail = h.recv_on(9);
  ASSERT_TRUE(fail);
  EXPECT_EQ(fail->type, FrameType::kOpenFail);
  h.send(9, FrameType::kData, "yes\n");
  ExecOutcome o;
  h.collect(9, o, 10s);
  ASSERT_TRUE(o.got_exit);
  EXPECT_EQ(o.out, "got yes\n");
}

TEST_F(AgentLinkTest, LoginEnvironmentAndOverrides) {
  auto req = exec({"sh", "-c", "echo $LANG:$PATH:$FOO:$TERM:$LOGNAME; pwd"});
  req.env = {"FOO=bar", "LANG=de_DE.UTF-8"};
  auto o = h.run(1, req);
  ASSERT_TRUE(o.got_exit);
  EXPECT_EQ(o.out.rfind("de_DE.UTF-8:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
                        "/sbin:/bin:bar::", 0),
            0u)
      << o.out;
  if (geteuid() == 0) {
    EXPECT_NE(o.out.find("::root\n/root\n"), std::string::npos) << o.out;
  }
  auto cwd = exec({"pwd"});
  cwd.cwd = "/tmp";
  EXPECT_EQ(h.run(2, cwd).out, "/tmp\n");
}

TEST_F(AgentLinkTest, ChildInheritsOnlyItsStdio) {
  auto o = h.run(1, exec({"ls", "/proc/self/fd"}));
  ASSERT_TRUE(o.got_exit);
  // 3 is ls's own handle on the directory it lists.
  EXPECT_EQ(o.out, "0\n1\n2\n3\n") << "agent fds leaked into the child";
}

TEST_F(AgentLinkTest, RunsAsAnotherUser) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  auto req = exec({"sh", "-c", "id -u; id -G; echo $HOME $USER; pwd"});
  req.user = "nobody";
  auto o = h.run(1, req);
  ASSERT_TRUE(o.got_exit) << (o.failure ? o.failure->error : "");
  EXPECT_EQ(o.exit.exit_code, 0) << o.err;
  EXPECT_EQ(o.out.substr(0, o.out.find('\n')), "65534");
  EXPECT_NE(o.out.find("nobody"), std::string::npos);
}

TEST_F(AgentLinkTest, LargeOutputRespectsCredit) {
  constexpr uint64_t kTotal = 20000000;
  h.open(1, exec({"head", "-c", std::to_string(kTotal), "/dev/zero"}));
  uint64_t granted = proto::kInitialWindow, received = 0, unreturned = 0;
  bool exited = false, opened = false;
  // Phase 1: no credit returned. The agent must stop at exactly the window.
  while (auto f = h.recv_on(1, 500ms)) {
    if (f->type == FrameType::kOpenOk) opened = true;
    if (f->type == FrameType::kData) received += f->payload.size();
    ASSERT_LE(received, granted) << "agent exceeded its credit";
    ASSERT_NE(f->type, FrameType::kExit);
  }
  ASSERT_TRUE(opened);
  EXPECT_EQ(received, proto::kInitialWindow) << "should fill the window and stop";
  unreturned = received;
  // Phase 2: return credit in 256 KiB steps as data is consumed.
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (!exited && std::chrono::steady_clock::now() < deadline) {
    if (unreturned >= (256u << 10) || received == granted) {
      h.send(1, FrameType::kWindow, proto::encode_u32(static_cast<uint32_t>(unreturned)));
      granted += unreturned;
      unreturned = 0;
    }
    auto f = h.recv_on(1, 10s);
    ASSERT_TRUE(f) << "stalled at " << received;
    if (f->type == FrameType::kData) {
      ASSERT_EQ(f->payload.find_first_not_of('\0'), std::string::npos);
      ASSERT_LE(f->payload.size(), proto::kDataChunk);
      received += f->payload.size();
      unreturned += f->payload.size();
      ASSERT_LE(received, granted) << "agent exceeded its credit";
    } else if (f->type == FrameType::kExit) {
      exited = true;
      EXPECT_EQ(proto::parse_exit(f->payload)->exit_code, 0);
    }
  }
  EXPECT_TRUE(exited);
  EXPECT_EQ(received, kTotal);
}

TEST_F(AgentLinkTest, StalledChannelDoesNotBlockOthers) {
  h.open(1, exec({"head", "-c", "20000000", "/dev/zero"}));  // never credited
  // Let channel 1 exhaust its window first.
  uint64_t stalled = 0;
  while (auto f = h.recv_on(1, 300ms)) {
    if (f->type == FrameType::kData) stalled += f->payload.size();
  }
  EXPECT_EQ(stalled, proto::kInitialWindow);
  auto o = h.run(2, exec({"sh", "-c", "head -c 3000000 /dev/zero | wc -c"}), "", true, 10s);
  ASSERT_TRUE(o.got_exit) << "channel 2 stalled behind channel 1";
  EXPECT_EQ(o.out, "3000000\n");
  auto big = h.run(3, exec({"head", "-c", "3000000", "/dev/zero"}), "", true, 20s);
  ASSERT_TRUE(big.got_exit);
  EXPECT_EQ(big.out.size(), 3000000u);
  h.send(1, FrameType::kClose, "");
}

TEST_F(AgentLinkTest, TtyExecHasPtyAndResizes) {
  auto req = exec({"tty"});
  req.tty = true;
  auto o = h.run(1, req);
  ASSERT_TRUE(o.got_exit) << (o.failure ? o.failure->error : "");
  EXPECT_EQ(o.out.rfind("/dev/pts/", 0), 0u) << o.out;
  EXPECT_EQ(o.exit.exit_code, 0);

  auto sreq = exec({"sh", "-c", "stty size; read x; stty size"});
  sreq.tty = true;
  sreq.rows = 30;
  sreq.cols = 100;
  h.open(2, sreq);
  ExecOutcome so;
  // Wait for the first size line before resizing.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (so.out.find("30 100") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    auto f = h.recv_on(2, 10s);
    ASSERT_TRUE(f);
    ASSERT_NE(f->type, FrameType::kOpenFail) << f->payload;
    if (f->type == FrameType::kData) so.out += f->payload;
  }
  EXPECT_NE(so.out.find("30 100"), std::string::npos) << so.out;
  h.send(2, FrameType::kResize, proto::encode_resize(50, 132));
  h.send(2, FrameType::kData, "\n");
  h.collect(2, so, 10s);
  ASSERT_TRUE(so.got_exit);
  EXPECT_NE(so.out.find("50 132"), std::string::npos) << so.out;
}

TEST_F(AgentLinkTest, SignalInterruptsSleep) {
  h.open(1, exec({"sleep", "100"}));
  auto ok = h.recv_on(1);
  ASSERT_TRUE(ok);
  ASSERT_EQ(ok->type, FrameType::kOpenOk);
  h.send(1, FrameType::kSignal, std::string(1, '\0'));   // invalid: ignored
  h.send(1, FrameType::kSignal, std::string(1, 'A'));    // 65: invalid
  h.send(1, FrameType::kSignal, std::string(1, '\x02'));
  ExecOutcome o;
  h.collect(1, o, 10s);
  ASSERT_TRUE(o.got_exit);
  EXPECT_EQ(o.exit.exit_code, 130);
  EXPECT_EQ(o.exit.signal, 2);
}

TEST_F(AgentLinkTest, CloseKillsTheProcessGroupSilently) {
  h.open(1, exec({"sh", "-c", "sleep 100 & sleep 100"}));
  auto ok = h.recv_on(1);
  ASSERT_TRUE(ok);
  ASSERT_EQ(ok->type, FrameType::kOpenOk);
  int pid = json::parse(ok->payload)["pid"];
  h.send(1, FrameType::kClose, "");
  EXPECT_TRUE(wait_until([&] { return kill(-pid, 0) != 0; }, 3s))
      << "process group survived CLOSE";
  EXPECT_FALSE(h.recv_on(1, 300ms).has_value()) << "nothing may follow CLOSE";
}

TEST_F(AgentLinkTest, CloseKillsJobsInOtherProcessGroups) {
  // With job control a shell moves background jobs into their own groups.
  auto req = exec({"sh", "-c", "set -m; sleep 100 & echo bg=$!; wait"});
  req.tty = true;
  h.open(1, req);
  std::string out;
  int bg = 0;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (bg == 0 && std::chrono::steady_clock::now() < deadline) {
    auto f = h.recv_on(1, 10s);
    ASSERT_TRUE(f);
    ASSERT_NE(f->type, FrameType::kOpenFail);
    if (f->type == FrameType::kData) out += f->payload;
    auto p = out.find("bg=");
    if (p != std::string::npos && out.find('\n', p) != std::string::npos)
      bg = std::stoi(out.substr(p + 3));
  }
  ASSERT_GT(bg, 0) << out;
  ASSERT_EQ(kill(bg, 0), 0);
  h.send(1, FrameType::kClose, "");
  EXPECT_TRUE(wait_until([&] { return kill(bg, 0) != 0; }, 3s))
      << "background job survived CLOSE";
}

TEST_F(AgentLinkTest, DetachedProcessKeepsRunning) {
  auto td = TempDir::create("agent-detach");
  ASSERT_TRUE(td);
  std::string file = td->path() + "/done";
  auto req = exec({"sh", "-c", "sleep 0.3; echo done > " + file});
  req.detach = true;
  auto o = h.run(1, req, "", false, 5s);
  EXPECT_TRUE(o.opened);
  ASSERT_TRUE(o.got_exit);
  EXPECT_EQ(o.exit.exit_code, 0);
  EXPECT_FALSE(path_exists(file)) << "EXIT must come before the process ends";
  EXPECT_TRUE(wait_until([&] { return path_exists(file); }, 3s));
}

TEST_F(AgentLinkTest, StdinBeyondCreditClosesChannel) {
  h.open(1, exec({"sleep", "100"}));  // never reads stdin
  auto ok = h.recv_on(1);
  ASSERT_TRUE(ok);
  std::string chunk(128u << 10, 'x');
  for (int i = 0; i < 16; ++i) h.send(1, FrameType::kData, chunk);  // 2 MiB
  bool closed = false;
  while (auto f = h.recv_on(1, 5s)) {
    if (f->type == FrameType::kClose) {
      closed = true;
      break;
    }
  }
  EXPECT_TRUE(closed);
  // The agent is still healthy.
  auto o = h.run(2, exec({"echo", "alive"}));
  EXPECT_EQ(o.out, "alive\n");
}

TEST_F(AgentLinkTest, OversizedFrameResyncsOnFreshHello) {
  std::string bad;
  bad += std::string("\xf0\xff\xff\x7f", 4);  // ~2 GiB payload length
  bad += std::string("\x01\x00\x00\x00", 4);
  bad += static_cast<char>(FrameType::kData);
  bad += "trailing junk";
  h.send_raw(bad);
  // The ping is swallowed while unsynced.
  h.send(0, FrameType::kControl, proto::to_json(proto::ControlRequest{1, "ping"}));
  EXPECT_FALSE(h.recv_on(0, 300ms).has_value());
  ASSERT_TRUE(h.handshake(AgentHarness::nonce('z'))) << "agent did not resync";
  auto o = h.run(1, exec({"echo", "again"}));
  EXPECT_EQ(o.out, "again\n");
  // An unknown frame type also forces a resync.
  h.send_raw(std::string("\x00\x00\x00\x00\x01\x00\x00\x00\x63", 9));
  ASSERT_TRUE(h.handshake(AgentHarness::nonce('y')));
  EXPECT_TRUE(h.process().running());
}

TEST_F(AgentLinkTest, SurvivesRandomBytesAndRandomFrames) {
  std::mt19937 rng(1234);
  auto random_bytes = [&](size_t n) {
    std::string b(n, '\0');
    for (auto& c : b) c = static_cast<char>(rng());
    return b;
  };
  h.send_raw(random_bytes(1u << 20));
  ASSERT_TRUE(h.handshake(AgentHarness::nonce('r'))) << "no resync after random bytes";
  // Well-framed garbage of every type on a few channels, including channel 1
  // with a live process.
  h.open(1, exec({"cat"}));
  for (int i = 0; i < 3000; ++i) {
    auto type = static_cast<FrameType>(1 + rng() % 14);
    if (type == FrameType::kHello || type == FrameType::kClose) continue;
    uint32_t ch = rng() % 4;
    size_t len = rng() % 3 == 0 ? rng() % 8 : rng() % 300;
    std::string payload = random_bytes(len);
    if (type == FrameType::kOpen && rng() % 2)
      payload = R"({"argv":["true"],"rows":)" + std::to_string(rng()) + "}";
    if (type == FrameType::kSignal) continue;  // would kill cat (tested elsewhere)
    h.send(ch, type, payload);
  }
  h.send(0, FrameType::kControl, proto::to_json(proto::ControlRequest{77, "ping"}));
  bool pong = false;
  while (auto f = h.recv_on(0, 10s)) {
    auto r = proto::parse_control_response(f->payload);
    if (r && r->id == 77) {
      pong = true;
      break;
    }
  }
  EXPECT_TRUE(pong) << "agent stopped answering";
  EXPECT_TRUE(h.process().running());
}

TEST_F(AgentLinkTest, ShutdownRepliesThenExits) {
  h.send(0, FrameType::kControl, proto::to_json(proto::ControlRequest{42, "shutdown"}));
  auto f = h.recv_on(0);
  ASSERT_TRUE(f);
  auto r = proto::parse_control_response(f->payload);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->id, 42u);
  EXPECT_TRUE(r->ok);
  auto st = h.process().wait_for(5s);
  ASSERT_TRUE(st);
  ASSERT_TRUE(st->has_value());
  EXPECT_EQ((*st)->code, 0);
}

}  // namespace
}  // namespace sbx::agent::testing

namespace sbx::agent::testing {
namespace {

TEST(AgentLink, ServeSocketConnectsAndServes) {
  auto td = TempDir::create("agent-sock");
  ASSERT_TRUE(td);
  std::string path = td->path() + "/link.sock";
  auto listener = unix_listen(path);
  ASSERT_TRUE(listener);
  SpawnOptions o;
  o.argv = {SBX_AGENT_PATH, "--serve-socket", path};
  o.die_with_parent = true;
  auto agent = ChildProcess::spawn(o);
  ASSERT_TRUE(agent);
  pollfd p{listener->get(), POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 5000), 1);
  Fd conn(accept4(listener->get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_TRUE(conn.valid());
  std::string hello;
  proto::encode_into(hello, proto::kHelloChannel, FrameType::kHello,
                     proto::hello_payload(AgentHarness::nonce('s'), R"({"version":1})"));
  ASSERT_TRUE(write_all(conn.get(), hello));
  proto::FrameDecoder dec;
  std::optional<Frame> ack;
  while (!ack) {
    pollfd q{conn.get(), POLLIN, 0};
    ASSERT_EQ(poll(&q, 1, 5000), 1);
    auto bytes = read_some(conn.get(), 4096);
    ASSERT_TRUE(bytes);
    ASSERT_FALSE(bytes->empty());
    dec.feed(*bytes);
    auto f = dec.next();
    ASSERT_TRUE(f);
    if (f->has_value()) ack = **f;
  }
  EXPECT_EQ(ack->type, FrameType::kHelloAck);
  EXPECT_EQ(proto::parse_hello(ack->payload)->nonce, AgentHarness::nonce('s'));
  conn.reset();
  auto st = agent->wait_for(5s);
  ASSERT_TRUE(st);
  ASSERT_TRUE(st->has_value());
  EXPECT_EQ((*st)->code, 0);
}

TEST(AgentLink, RejectsBadCommandLine) {
  auto r = run_command({SBX_AGENT_PATH, "--serve-fd", "x"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status.code, 2);
  auto v = run_command({SBX_AGENT_PATH, "--version"});
  ASSERT_TRUE(v);
  EXPECT_EQ(v->output, "sbx-agent 0.1.0\n");
}

}  // namespace
}  // namespace sbx::agent::testing
