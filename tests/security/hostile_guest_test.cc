// The guest is hostile: whatever arrives on the agent link must leave
// sandboxd bounded and alive. A fake guest on a socketpair completes the
// handshake and then misbehaves.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "daemon/agent_link.h"
#include "proto/frame.h"
#include "proto/messages.h"

namespace sbx::daemon {
namespace {

using namespace std::chrono_literals;
using proto::FrameType;

// Answers the daemon's HELLO, then hands the socket to `misbehave`.
class FakeGuest {
 public:
  explicit FakeGuest(Fd fd) : fd_(std::move(fd)) {}
  /// Reads until a HELLO arrives and answers it.
  void handshake() {
    proto::FrameDecoder d;
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(fd_.get(), buf, sizeof buf);
      ASSERT_GT(n, 0);
      d.feed(std::string_view(buf, static_cast<size_t>(n)));
      if (!d.resync(FrameType::kHello)) continue;
      auto f = d.next();
      ASSERT_TRUE(f.ok());
      if (!f->has_value()) continue;
      auto h = proto::parse_hello((*f)->payload);
      ASSERT_TRUE(h.ok());
      send(proto::kHelloChannel, FrameType::kHelloAck, proto::hello_payload(h->nonce, "{}"));
      decoder_ = std::move(d);
      return;
    }
  }
  void send(uint32_t ch, FrameType t, std::string_view payload) {
    std::string b;
    proto::encode_into(b, ch, t, payload);
    ASSERT_TRUE(write_all(fd_.get(), b).ok());
  }
  void raw(std::string_view bytes) { (void)write_all(fd_.get(), bytes); }
  /// Waits for the next frame from the daemon.
  proto::Frame next() {
    char buf[65536];
    for (;;) {
      auto f = decoder_.next();
      if (f.ok() && f->has_value()) return **f;
      ssize_t n = ::read(fd_.get(), buf, sizeof buf);
      if (n <= 0) return proto::Frame{0, FrameType::kClose, "eof"};
      decoder_.feed(std::string_view(buf, static_cast<size_t>(n)));
    }
  }
  int fd() const { return fd_.get(); }

 private:
  Fd fd_;
  proto::FrameDecoder decoder_;
};

struct Pair {
  std::shared_ptr<AgentLink> link;
  std::unique_ptr<FakeGuest> guest;
  ~Pair() {
    if (link) link->close();
  }
};

Pair connect_pair(Logger& log) {
  auto sp = socket_pair();
  EXPECT_TRUE(sp.ok());
  auto guest = std::make_unique<FakeGuest>(std::move(sp->second));
  std::thread t([&] { guest->handshake(); });
  auto link = AgentLink::handshake(std::move(sp->first), 5s, [] { return true; }, log);
  t.join();
  EXPECT_TRUE(link.ok()) << (link.ok() ? "" : link.error().message);
  return {link.ok() ? *link : nullptr, std::move(guest)};
}

// The daemon opens an exec channel; the fake guest answers OPEN_OK with
// `ok_payload`. Returns the channel (null if the open failed) and the OPEN.
std::pair<std::shared_ptr<GuestChannel>, proto::Frame> open_channel(Pair& p,
                                                                    const std::string& ok_payload) {
  proto::ExecRequest req;
  req.argv = {"true"};
  std::shared_ptr<GuestChannel> ch;
  std::thread opener([&] {
    auto c = p.link->open_exec(req, 5s);
    if (c.ok()) ch = *c;
  });
  auto open = p.guest->next();
  p.guest->send(open.channel, FrameType::kOpenOk, ok_payload);
  opener.join();
  return {ch, open};
}

class HostileGuest : public ::testing::Test {
 protected:
  Logger log_{stderr, LogLevel::kError};
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
  for (uint32_t sent = 0; sent <= proto::kInitialWindow + proto::kDataChunk; sent += proto::kDataChunk)
    p.guest->send(open.channel, FrameType::kData, chunk);
  // The daemon answers with CLOSE and the channel ends.
  bool closed = false;
  for (int i = 0; i < 100 && !closed; ++i) {
    auto f = p.guest->next();
    closed = f.type == FrameType::kClose && f.channel == open.channel;
  }
  EXPECT_TRUE(closed);
  size_t buffered = 0;
  for (;;) {
    auto e = ch->next_event();
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

TEST_F(HostileGuest, MalformedMessagesAreRefusedFieldByField) {
  auto p = connect_pair(log_);
  ASSERT_TRUE(p.link);
  // OPEN_OK's payload is informational: junk there must not matter.
  auto [ch, open] = open_channel(p, "not json at all");
  ASSERT_TRUE(ch);
  // An EXIT with an out-of-range code is reported as an error, not trusted.
  p.guest->send(open.channel, FrameType::kExit, "{\"exit_code\": 99999}");
  auto e = ch->next_event();
  EXPECT_EQ(e.kind, GuestChannel::Event::Kind::kError);
  EXPECT_NE(e.data.find("malformed EXIT"), std::string::npos);
  // Frames for channels that do not exist, and bogus control replies, are ignored.
  p.guest->send(777, FrameType::kData, "x");
  p.guest->send(proto::kControlChannel, FrameType::kControl, "{\"id\": \"x\"}");
  p.guest->send(proto::kControlChannel, FrameType::kControl, "[1,2,3]");
  std::thread answer([&] {
    auto f = p.guest->next();
    auto r = proto::parse_control_request(f.payload);
    ASSERT_TRUE(r.ok());
    p.guest->send(0, FrameType::kControl, proto::to_json(proto::ControlResponse{r->id, true, "", "{}"}));
  });
  auto ping = p.link->control("ping", 5s);
  answer.join();
  EXPECT_TRUE(ping.ok());
}

TEST_F(HostileGuest, SilentGuestTimesOutTheHandshake) {
  auto sp = socket_pair();
  ASSERT_TRUE(sp.ok());
  auto t0 = std::chrono::steady_clock::now();
  auto link = AgentLink::handshake(std::move(sp->first), 1500ms, [] { return true; }, log_);
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
  auto link = AgentLink::handshake(std::move(sp->first), 1500ms, [] { return true; }, log_);
  EXPECT_FALSE(link.ok());
  EXPECT_NE(link.error().message.find("did not answer"), std::string::npos) << link.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
}

TEST_F(HostileGuest, HelloFloodDuringHandshakeIsBounded) {
  auto sp = socket_pair();
  ASSERT_TRUE(sp.ok());
  Fd guest = std::move(sp->second);
  std::thread flood([&] {
    // Lots of junk, some of it magic-looking, none with our nonce.
    std::string junk;
    for (int i = 0; i < 2000; ++i) junk += "SBXHELLO" + std::string(40, static_cast<char>(i));
    (void)write_all(guest.get(), junk);
  });
  auto link = AgentLink::handshake(std::move(sp->first), 1500ms, [] { return true; }, log_);
  flood.join();
  EXPECT_FALSE(link.ok());
}

}  // namespace
}  // namespace sbx::daemon
