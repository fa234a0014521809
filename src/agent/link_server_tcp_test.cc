// Integration tests for TCP channels: the real sbx-agent connects to servers
// run by this test process on 127.0.0.1.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <thread>

#include "agent/agent_harness.h"
#include "support/loopback_server.h"

namespace sbx::agent::testing {
namespace {

using namespace std::chrono_literals;
using proto::FrameType;

using TestServer = sbx::testing::LoopbackServer;
using sbx::testing::echo_until_eof;

std::string tcp_open(uint16_t port, const std::string& host = "127.0.0.1") {
  proto::TcpConnectRequest r;
  r.host = host;
  r.port = port;
  return proto::to_json(r);
}

class AgentTcpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(h.started());
    ASSERT_TRUE(h.handshake(AgentHarness::nonce('t')));
  }
  AgentHarness h;
};

/// What a tcp channel delivered until CLOSE (or timeout).
struct TcpOutcome {
  bool opened = false, got_eof = false, got_close = false;
  std::string data;
};

TcpOutcome collect_tcp(AgentHarness& h, uint32_t ch, std::chrono::milliseconds timeout = 10s) {
  TcpOutcome o;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!o.got_close && std::chrono::steady_clock::now() < deadline) {
    auto f = h.recv_on(ch, 10s);
    if (!f) break;
    if (f->type == FrameType::kOpenOk) o.opened = true;
    if (f->type == FrameType::kEof) o.got_eof = true;
    if (f->type == FrameType::kClose) o.got_close = true;
    if (f->type == FrameType::kOpenFail) break;
    if (f->type == FrameType::kData) {
      o.data += f->payload;
      h.send(ch, FrameType::kWindow, proto::encode_u32(static_cast<uint32_t>(f->payload.size())));
    }
  }
  return o;
}

TEST_F(AgentTcpTest, RoundTripThroughEchoServer) {
  TestServer srv(echo_until_eof);
  h.send(1, FrameType::kOpen, tcp_open(srv.port()));
  auto ok = h.recv_on(1);
  ASSERT_TRUE(ok);
  ASSERT_EQ(ok->type, FrameType::kOpenOk) << ok->payload;
  EXPECT_EQ(ok->payload, "{}");
  h.send(1, FrameType::kData, "hello tcp");
  h.send(1, FrameType::kEof, "");
  auto o = collect_tcp(h, 1);
  EXPECT_EQ(o.data, "hello tcp");
  EXPECT_TRUE(o.got_eof);
  EXPECT_TRUE(o.got_close);
  // The channel is forgotten: its id can be reused.
  h.send(1, FrameType::kOpen, tcp_open(srv.port(), "localhost"));
  auto again = h.recv_on(1);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->type, FrameType::kOpenOk);
  h.send(1, FrameType::kClose, "");
}

TEST_F(AgentTcpTest, RefusedPortAndNamesFailWithCode125) {
  // Bind then close: nothing listens on this port any more.
  uint16_t dead;
  {
    TestServer srv(echo_until_eof);
    dead = srv.port();
  }
  h.send(2, FrameType::kOpen, tcp_open(dead));
  auto f = h.recv_on(2);
  ASSERT_TRUE(f);
  ASSERT_EQ(f->type, FrameType::kOpenFail);
  auto of = proto::parse_open_failure(f->payload);
  ASSERT_TRUE(of);
  EXPECT_EQ(of->code, 125);
  EXPECT_EQ(of->error, "connect 127.0.0.1:" + std::to_string(dead) + ": Connection refused");
  h.send(3, FrameType::kOpen, tcp_open(80, "example.com"));
  auto n = h.recv_on(3);
  ASSERT_TRUE(n);
  ASSERT_EQ(n->type, FrameType::kOpenFail);
  EXPECT_NE(n->payload.find("example.com"), std::string::npos) << n->payload;
  h.send(4, FrameType::kOpen, R"({"kind":"udp","port":53})");
  auto k = h.recv_on(4);
  ASSERT_TRUE(k);
  EXPECT_EQ(k->type, FrameType::kOpenFail);
}

TEST_F(AgentTcpTest, FiftyConcurrentEchoChannels) {
  TestServer srv(echo_until_eof);
  constexpr int kN = 50;
  for (uint32_t ch = 1; ch <= kN; ++ch) h.send(ch, FrameType::kOpen, tcp_open(srv.port()));
  std::map<uint32_t, std::string> sent;
  for (uint32_t ch = 1; ch <= kN; ++ch) {
    std::string msg;
    for (int i = 0; i < 2000; ++i) msg += "ch" + std::to_string(ch) + ":" + std::to_string(i) + ";";
    sent[ch] = msg;
    h.send(ch, FrameType::kData, msg);
    h.send(ch, FrameType::kEof, "");
  }
  for (uint32_t ch = 1; ch <= kN; ++ch) {
    auto o = collect_tcp(h, ch);
    EXPECT_TRUE(o.opened) << ch;
    EXPECT_TRUE(o.got_close) << ch;
    EXPECT_EQ(o.data, sent[ch]) << "channel " << ch;
  }
}

TEST_F(AgentTcpTest, HundredMiBBothWaysWithCredit) {
  constexpr uint64_t kTotal = 100ull << 20;
  // The server sends kTotal bytes of a pattern and counts what it receives.
  std::atomic<uint64_t> server_got{0}, server_sum{0};
  TestServer srv([&](int c) {
    std::thread rd([&, c] {
      char buf[65536];
      uint64_t sum = 0, got = 0;
      for (;;) {
        ssize_t n = read(c, buf, sizeof buf);
        if (n <= 0) break;
        for (ssize_t i = 0; i < n; ++i) sum += static_cast<unsigned char>(buf[i]) * ((got + i) % 251 + 1);
        got += static_cast<uint64_t>(n);
      }
      server_got = got;
      server_sum = sum;
    });
    std::string chunk(1 << 20, '\0');
    for (uint64_t off = 0; off < kTotal; off += chunk.size()) {
      for (size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<char>((off + i) * 7 % 253);
      if (!write_all(c, chunk)) break;
    }
    shutdown(c, SHUT_WR);
    rd.join();
  });
  h.send(1, FrameType::kOpen, tcp_open(srv.port()));
  uint64_t received = 0, granted = proto::kInitialWindow, unreturned = 0, sum = 0, expect_sum = 0;
  uint64_t to_send = 16ull << 20, sent = 0, host_credit = proto::kInitialWindow, sent_sum = 0;
  bool closed = false, eof = false, opened = false;
  auto deadline = std::chrono::steady_clock::now() + 120s;
  std::string out(proto::kDataChunk, '\0');
  while (!closed && std::chrono::steady_clock::now() < deadline) {
    // Upload within our credit while downloading.
    while (opened && sent < to_send && host_credit >= out.size()) {
      for (size_t i = 0; i < out.size(); ++i) {
        out[i] = static_cast<char>((sent + i) % 256);
        sent_sum += static_cast<unsigned char>(out[i]) * ((sent + i) % 251 + 1);
      }
      h.send(1, FrameType::kData, out);
      sent += out.size();
      host_credit -= out.size();
      if (sent == to_send) h.send(1, FrameType::kEof, "");
    }
    auto f = h.recv_on(1, 10s);
    ASSERT_TRUE(f) << "stalled at " << received;
    switch (f->type) {
      case FrameType::kOpenOk: opened = true; break;
      case FrameType::kData:
        for (size_t i = 0; i < f->payload.size(); ++i) {
          sum += static_cast<unsigned char>(f->payload[i]);
          expect_sum += static_cast<unsigned char>(static_cast<char>((received + i) * 7 % 253));
        }
        ASSERT_LE(f->payload.size(), proto::kDataChunk);
        received += f->payload.size();
        unreturned += f->payload.size();
        ASSERT_LE(received, granted) << "agent exceeded its credit";
        if (unreturned >= (256u << 10)) {
          h.send(1, FrameType::kWindow, proto::encode_u32(static_cast<uint32_t>(unreturned)));
          granted += unreturned;
          unreturned = 0;
        }
        break;
      case FrameType::kWindow: host_credit += *proto::decode_u32(f->payload); break;
      case FrameType::kEof: eof = true; break;
      case FrameType::kClose: closed = true; break;
      default: ADD_FAILURE() << "unexpected " << proto::type_name(f->type);
    }
  }
  EXPECT_TRUE(eof);
  EXPECT_TRUE(closed);
  EXPECT_EQ(received, kTotal);
  EXPECT_EQ(sum, expect_sum) << "checksum of the download";
  for (int i = 0; i < 100 && server_got != to_send; ++i) std::this_thread::sleep_for(20ms);
  EXPECT_EQ(server_got.load(), to_send);
  EXPECT_EQ(server_sum.load(), sent_sum) << "checksum of the upload";
}

TEST_F(AgentTcpTest, HalfCloseServerRepliesAfterHostEof) {
  // The server reads until EOF, then answers with the byte count.
  TestServer srv([](int c) {
    char buf[4096];
    size_t total = 0;
    ssize_t n;
    while ((n = read(c, buf, sizeof buf)) > 0) total += static_cast<size_t>(n);
    std::this_thread::sleep_for(100ms);  // the reply comes well after our EOF
    (void)write_all(c, "got " + std::to_string(total));
  });
  h.send(1, FrameType::kOpen, tcp_open(srv.port()));
  h.send(1, FrameType::kData, std::string(10000, 'x'));
  h.send(1, FrameType::kEof, "");
  auto o = collect_tcp(h, 1);
  EXPECT_TRUE(o.opened);
  EXPECT_EQ(o.data, "got 10000");
  EXPECT_TRUE(o.got_eof);
  EXPECT_TRUE(o.got_close);
}

TEST_F(AgentTcpTest, HostCloseClosesTheSocket) {
  std::atomic<bool> saw_eof{false};
  TestServer srv([&](int c) {
    char b[16];
    saw_eof = read(c, b, sizeof b) == 0;
  });
  h.send(1, FrameType::kOpen, tcp_open(srv.port()));
  auto ok = h.recv_on(1);
  ASSERT_TRUE(ok);
  ASSERT_EQ(ok->type, FrameType::kOpenOk);
  h.send(1, FrameType::kClose, "");
  for (int i = 0; i < 200 && !saw_eof; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(saw_eof);
  EXPECT_FALSE(h.recv_on(1, 200ms)) << "nothing is sent after a host CLOSE";
}

TEST_F(AgentTcpTest, StalledTcpChannelDoesNotStallExec) {
  // The server floods; the host never returns credit on channel 1.
  TestServer srv([](int c) {
    std::string chunk(1 << 16, 'z');
    for (int i = 0; i < 400; ++i)
      if (!write_all(c, chunk)) return;
  });
  h.send(1, FrameType::kOpen, tcp_open(srv.port()));
  uint64_t got = 0;
  while (auto f = h.recv_on(1, 300ms))
    if (f->type == FrameType::kData) got += f->payload.size();
  EXPECT_EQ(got, proto::kInitialWindow);
  auto o = h.run(2, exec({"sh", "-c", "head -c 3000000 /dev/zero | wc -c"}), "", true, 10s);
  ASSERT_TRUE(o.got_exit) << "exec stalled behind a tcp channel";
  EXPECT_EQ(o.out, "3000000\n");
  h.send(1, FrameType::kClose, "");
}

TEST_F(AgentTcpTest, DataBeyondCreditClosesChannel) {
  TestServer srv([](int c) { std::this_thread::sleep_for(1s); });
  h.send(1, FrameType::kOpen, tcp_open(srv.port()));
  auto ok = h.recv_on(1);
  ASSERT_TRUE(ok);
  ASSERT_EQ(ok->type, FrameType::kOpenOk);
  std::string chunk(proto::kDataChunk, 'a');
  // The server does not read: once the socket buffers are full the agent
  // holds the data and credit runs out; one more chunk is a violation.
  for (uint32_t i = 0; i < proto::kInitialWindow / chunk.size() * 8; ++i)
    h.send(1, FrameType::kData, chunk);
  bool closed = false;
  while (auto f = h.recv_on(1, 2s))
    if (f->type == FrameType::kClose) closed = true;
  EXPECT_TRUE(closed);
}

}  // namespace
}  // namespace sbx::agent::testing
