// The guest is hostile: whatever arrives on the agent link must leave
// sandboxd bounded and alive. A fake guest on a socketpair completes the
// handshake and then misbehaves.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <thread>

#include "daemon/agent_link.h"
#include "daemon/fake_guest.h"
#include "proto/frame.h"
#include "proto/messages.h"

namespace sbx::daemon {
namespace {

using namespace std::chrono_literals;
using proto::FrameType;

using testing::LinkPair;

// A fake guest (daemon/fake_guest.h) that fails rather than waits when the
// daemon goes quiet.
constexpr auto kQuiet = 10s;

LinkPair connect_pair(Logger& log) {
  auto p = testing::connect_fake_guest(log);
  EXPECT_TRUE(p.link) << "the handshake with the fake guest failed";
  if (p.guest) p.guest->set_read_timeout(kQuiet);
  return p;
}

// The daemon opens an exec channel; the fake guest answers OPEN_OK with
// `ok_payload`. Returns the channel (null if the open failed) and the OPEN.
std::pair<std::shared_ptr<GuestChannel>, proto::Frame> open_channel(LinkPair& p,
                                                                    const std::string& ok_payload) {
  proto::ExecRequest req;
  req.argv = {"true"};
  std::shared_ptr<GuestChannel> ch;
  std::thread opener([&] {
    auto c = p.link->open_exec(req, 5s);
    if (c.ok()) ch = *c;
  });
  auto open = p.guest->next();
  EXPECT_TRUE(p.guest->send(open.channel, FrameType::kOpenOk, ok_payload));
  opener.join();
  return {ch, open};
}

class HostileGuest : public ::testing::Test {
 protected:
  Logger log_{stderr, LogLevel::kError};
  // Outlives any link a test made, as log_ does; tests point it where they read.
  Logger warn_log_{stderr, LogLevel::kWarn};
};

TEST_F(HostileGuest, OversizedFrameBreaksTheLinkNotTheDaemon) {
  auto p = connect_pair(log_);
  ASSERT_TRUE(p.link);
  // A header announcing 4 GiB: the decoder refuses before buffering.
  p.guest->raw(std::string("\xff\xff\xff\xff\x01\x00\x00\x00\x07", 9));
  for (int i = 0; i < 100 && p.link->connected(); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_FALSE(p.link->connected());
  EXPECT_FALSE(p.link->control("ping", 1s).ok());
}

TEST_F(HostileGuest, GarbageAfterHandshakeIsAProtocolError) {
  auto p = connect_pair(log_);
  ASSERT_TRUE(p.link);
  p.guest->raw(std::string(64, '\x42'));
  for (int i = 0; i < 100 && p.link->connected(); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_FALSE(p.link->connected());
}

TEST_F(HostileGuest, OutputBeyondCreditAbortsTheChannel) {
  auto p = connect_pair(log_);
  ASSERT_TRUE(p.link);
  auto [ch, open] = open_channel(p, "{\"pid\":1}");
  ASSERT_TRUE(ch);
  ASSERT_EQ(open.type, FrameType::kOpen);
  // Never reading: push far more than the granted window.
  std::string chunk(proto::kDataChunk, 'z');
  for (uint32_t sent = 0; sent <= proto::kInitialWindow + proto::kDataChunk;
       sent += proto::kDataChunk)
    ASSERT_TRUE(p.guest->send(open.channel, FrameType::kData, chunk));
  // The daemon answers with CLOSE and the channel ends.
  bool closed = false;
  for (int i = 0; i < 100 && !closed; ++i) {
    auto f = p.guest->next();
    if (f.channel == 0 && f.type == FrameType::kClose) break;  // socket ended or silent
    closed = f.type == FrameType::kClose && f.channel == open.channel;
  }
  EXPECT_TRUE(closed);
  size_t buffered = 0;
  for (;;) {
    bool timed_out = false;
    auto e = testing::next_event_within(*ch, kQuiet, &timed_out);
    ASSERT_FALSE(timed_out) << "the channel neither delivered nor ended";
    if (e.kind == GuestChannel::Event::Kind::kStdout) {
      buffered += e.data.size();
      continue;
    }
    EXPECT_EQ(e.kind, GuestChannel::Event::Kind::kError);
    break;
  }
  EXPECT_LE(buffered, proto::kInitialWindow);
  // The link itself is still fine for other work.
  EXPECT_TRUE(p.link->connected());
}

// Each field the daemon reads from a guest message, broken one way at a time
// (wrong type, out of range, missing where required, oversize string): the
// message is refused and the refusal names the field.
struct BadField {
  const char* payload;
  const char* expect;  // must appear in the refusal
};

TEST_F(HostileGuest, MalformedMessagesAreRefusedFieldByField) {
  // Control responses are refused into the daemon's log: capture it.
  char* log_text = nullptr;
  size_t log_size = 0;
  FILE* log_file = open_memstream(&log_text, &log_size);
  ASSERT_NE(log_file, nullptr);
  warn_log_.set_output(log_file);
  auto p = connect_pair(warn_log_);
  ASSERT_TRUE(p.link);
  // OPEN_OK's payload is informational: junk there must not matter.
  auto [ch, open] = open_channel(p, "not json at all");
  ASSERT_TRUE(ch);
  // An EXIT with an out-of-range code is reported as an error, not trusted.
  ASSERT_TRUE(p.guest->send(open.channel, FrameType::kExit, "{\"exit_code\": 99999}"));
  bool timed_out = false;
  auto e = testing::next_event_within(*ch, kQuiet, &timed_out);
  ASSERT_FALSE(timed_out) << "no event for a malformed EXIT";
  EXPECT_EQ(e.kind, GuestChannel::Event::Kind::kError);
  EXPECT_NE(e.data.find("malformed EXIT"), std::string::npos);
  EXPECT_NE(e.data.find("'exit_code' out of range"), std::string::npos) << e.data;

  // EXIT: exit_code and signal. (Absent fields mean 0 by design.)
  const BadField exits[] = {
      {"{\"exit_code\": -1}", "'exit_code' out of range"},
      {"{\"exit_code\": 256}", "'exit_code' out of range"},
      {"{\"exit_code\": \"0\"}", "'exit_code' must be an integer"},
      {"{\"exit_code\": 1.5}", "'exit_code' must be an integer"},
      {"{\"exit_code\": 18446744073709551615}", "'exit_code' out of range"},
      {"{\"exit_code\": 0, \"signal\": 129}", "'signal' out of range"},
      {"{\"exit_code\": 0, \"signal\": \"KILL\"}", "'signal' must be an integer"},
      {"[0]", "exit message: not a JSON object"},
  };
  for (const auto& c : exits) {
    SCOPED_TRACE(c.payload);
    auto [xch, xopen] = open_channel(p, "{\"pid\":1}");
    ASSERT_TRUE(xch);
    ASSERT_TRUE(p.guest->send(xopen.channel, FrameType::kExit, c.payload));
    auto x = testing::next_event_within(*xch, kQuiet, &timed_out);
    ASSERT_FALSE(timed_out);
    EXPECT_EQ(x.kind, GuestChannel::Event::Kind::kError);
    EXPECT_NE(x.data.find("malformed EXIT"), std::string::npos) << x.data;
    EXPECT_NE(x.data.find(c.expect), std::string::npos) << x.data;
  }

  // OPEN_FAIL: error and code. The open fails either way; a malformed
  // answer must say so rather than pass a made-up reason on.
  const BadField fails[] = {
      {"{\"error\": 5}", "'error' must be a string"},
      {"{\"error\": \"no\", \"code\": 300}", "'code' out of range"},
      {"{\"error\": \"no\", \"code\": -2}", "'code' out of range"},
      {"{\"error\": \"no\", \"code\": \"127\"}", "'code' must be an integer"},
      {"\"just a string\"", "open failure: not a JSON object"},
  };
  for (const auto& c : fails) {
    SCOPED_TRACE(c.payload);
    proto::ExecRequest req;
    req.argv = {"true"};
    Result<std::shared_ptr<GuestChannel>> r = err("not run");
    std::thread opener([&] { r = p.link->open_exec(req, 5s); });
    auto o = p.guest->next();
    EXPECT_EQ(o.type, FrameType::kOpen);
    EXPECT_TRUE(p.guest->send(o.channel, FrameType::kOpenFail, c.payload));
    opener.join();
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("malformed OPEN_FAIL"), std::string::npos)
        << r.error().message;
    EXPECT_NE(r.error().message.find(c.expect), std::string::npos) << r.error().message;
  }

  // Egress OPEN from the guest: mode, ip and port. Refused with OPEN_FAIL
  // before any handler sees them (none is installed here).
  const std::string long_mode(10000, 'm');
  const std::string long_ip(100, '1');
  const std::string opens[][2] = {
      {"{\"kind\":\"egress\",\"mode\":5}", "'mode' must be a string"},
      {"{\"kind\":\"egress\",\"mode\":\"bogus\"}", "unknown mode 'bogus'"},
      {"{\"kind\":\"egress\",\"mode\":\"" + long_mode + "\"}", "unknown mode 'mmm"},
      {"{\"kind\":\"egress\",\"mode\":\"transparent\",\"port\":80}", "needs ip and port"},
      {"{\"kind\":\"egress\",\"mode\":\"transparent\",\"ip\":\"10.0.0.1\"}", "needs ip and port"},
      {"{\"kind\":\"egress\",\"mode\":\"transparent\",\"ip\":5,\"port\":80}",
       "'ip' must be a string"},
      {"{\"kind\":\"egress\",\"mode\":\"transparent\",\"ip\":\"nowhere\",\"port\":80}",
       "ip is not an address literal"},
      {"{\"kind\":\"egress\",\"mode\":\"transparent\",\"ip\":\"" + long_ip + "\",\"port\":80}",
       "ip is not an address literal"},
      {"{\"kind\":\"egress\",\"mode\":\"transparent\",\"ip\":\"10.0.0.1\",\"port\":0}",
       "'port' out of range"},
      {"{\"kind\":\"egress\",\"mode\":\"transparent\",\"ip\":\"10.0.0.1\",\"port\":65536}",
       "'port' out of range"},
      {"{\"kind\":\"egress\",\"mode\":\"transparent\",\"ip\":\"10.0.0.1\",\"port\":\"80\"}",
       "'port' must be an integer"},
  };
  uint32_t next_guest_channel = proto::kGuestChannelBit | 1;
  for (const auto& c : opens) {
    SCOPED_TRACE(c[0].substr(0, 120));
    auto reply = p.guest->open_egress(next_guest_channel++, c[0]);
    ASSERT_EQ(reply.type, FrameType::kOpenFail);
    auto f = proto::parse_open_failure(reply.payload);
    ASSERT_TRUE(f.ok()) << reply.payload;
    EXPECT_NE(f->error.find("bad egress request"), std::string::npos) << f->error;
    EXPECT_NE(f->error.find(c[1]), std::string::npos) << f->error;
    // An oversize field is not echoed back whole.
    EXPECT_LT(reply.payload.size(), 256u);
  }

  // Control responses: id, ok, error. Dropped with a warning naming the
  // field; frames for channels that do not exist are ignored.
  const BadField controls[] = {
      {"{\"id\": \"x\"}", "'id' must be an integer"},
      {"{\"id\": -1}", "'id' out of range"},
      {"{\"id\": 1, \"ok\": \"yes\"}", "'ok' must be a boolean"},
      {"{\"id\": 1, \"error\": 7}", "'error' must be a string"},
      {"[1,2,3]", "control response: not a JSON object"},
  };
  ASSERT_TRUE(p.guest->send(777, FrameType::kData, "x"));
  for (const auto& c : controls)
    ASSERT_TRUE(p.guest->send(proto::kControlChannel, FrameType::kControl, c.payload));
  std::thread answer([&] {
    auto f = p.guest->next();
    auto r = proto::parse_control_request(f.payload);
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(p.guest->send(0, FrameType::kControl,
                              proto::to_json(proto::ControlResponse{r->id, true, "", "{}"})));
  });
  auto ping = p.link->control("ping", 5s);
  answer.join();
  EXPECT_TRUE(ping.ok());
  // The reader handled the bad responses before the good one: all logged.
  warn_log_.set_output(stderr);  // no write to log_file after this returns
  fflush(log_file);
  std::string logged(log_text, log_size);
  for (const auto& c : controls) EXPECT_NE(logged.find(c.expect), std::string::npos) << c.expect;
  fclose(log_file);
  free(log_text);
}

TEST_F(HostileGuest, SilentGuestTimesOutTheHandshake) {
  auto sp = socket_pair();
  ASSERT_TRUE(sp.ok());
  auto t0 = std::chrono::steady_clock::now();
  auto link = AgentLink::handshake(
      std::move(sp->first), 1500ms, [] { return true; }, log_);
  EXPECT_FALSE(link.ok());
  EXPECT_NE(link.error().message.find("did not answer"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
}

TEST_F(HostileGuest, GuestThatNeverReadsCannotHoldTheHandshake) {
  // A guest that hangs before opening its port: QEMU stops reading the
  // chardev socket, so the daemon's writes would block. Fill the socket
  // first, as a long-hung boot would; the handshake must still end.
  auto sp = socket_pair();
  ASSERT_TRUE(sp.ok());
  int fd = sp->first.get();
  std::string junk(4096, 'x');
  size_t filled = 0;
  for (;;) {
    ssize_t n = ::send(fd, junk.data(), junk.size(), MSG_DONTWAIT);
    if (n <= 0) break;
    filled += static_cast<size_t>(n);
  }
  ASSERT_GT(filled, 0u);
  auto t0 = std::chrono::steady_clock::now();
  auto link = AgentLink::handshake(
      std::move(sp->first), 1500ms, [] { return true; }, log_);
  EXPECT_FALSE(link.ok());
  EXPECT_NE(link.error().message.find("did not answer"), std::string::npos) << link.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
}

TEST_F(HostileGuest, HelloFloodDuringHandshakeIsBounded) {
  auto sp = socket_pair();
  ASSERT_TRUE(sp.ok());
  Fd guest = std::move(sp->second);
  // Junk that looks like HELLO_ACK: bare magic, and whole well-formed
  // HELLO_ACK frames whose nonce is not ours. None may be kept beyond the
  // one candidate the decoder is still waiting on.
  std::string junk;
  const std::string wrong_nonce(proto::kNonceSize, 'N');
  for (int i = 0; i < 4000; ++i) {
    junk += "SBXHELLO" + std::string(40, static_cast<char>(i));
    junk += proto::encode(proto::Frame{proto::kHelloChannel, FrameType::kHelloAck,
                                       proto::hello_payload(wrong_nonce, "{\"version\":1}")});
  }
  ASSERT_GT(junk.size(), 256u << 10);
  std::thread flood([&] {
    (void)write_all(guest.get(), junk);
    ::shutdown(guest.get(), SHUT_WR);
  });
  HandshakeStats stats;
  auto link = AgentLink::handshake(
      std::move(sp->first), 3000ms, [] { return true; }, log_, &stats);
  flood.join();
  EXPECT_FALSE(link.ok());
  // The whole flood reached the decoder...
  EXPECT_EQ(stats.bytes_read, junk.size());
  // ...and it never held more than a header, the magic and a nonce: the
  // most a frame it is still waiting on can need before it is judged.
  EXPECT_LE(stats.peak_buffered,
            proto::kHeaderSize + proto::kHelloMagic.size() + proto::kNonceSize);
}

}  // namespace
}  // namespace sbx::daemon
