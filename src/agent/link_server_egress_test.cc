// Integration tests for egress: the real sbx-agent (test mode) listens on
// ephemeral loopback ports; this test plays both the guest application
// (plain sockets) and the host (frames through AgentHarness).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "agent/agent_harness.h"
#include "support/loopback_server.h"

namespace sbx::agent::testing {
namespace {

using namespace std::chrono_literals;
using proto::Frame;
using proto::FrameType;

const std::vector<std::string> kEgressArgs = {"--egress-proxy", "127.0.0.1:0",
                                              "--egress-transparent", "127.0.0.1:0",
                                              "--egress-dns", "127.0.0.1:0"};

uint16_t port_of(const std::string& endpoint) {
  return static_cast<uint16_t>(std::stoi(endpoint.substr(endpoint.rfind(':') + 1)));
}

sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  return a;
}

/// A blocking client socket with a 10 s receive guard (never hit when the
/// agent behaves).
Fd socket_with_guard(int type) {
  Fd s(socket(AF_INET, type | SOCK_CLOEXEC, 0));
  timeval tv{10, 0};
  setsockopt(s.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return s;
}

Fd connect_to(uint16_t port) {
  Fd s = socket_with_guard(SOCK_STREAM);
  auto a = loopback(port);
  if (connect(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) return Fd();
  return s;
}

/// recv() result: >0 bytes, 0 EOF, -errno on error (EAGAIN = guard hit).
long recv_result(int fd, std::string* out = nullptr) {
  char buf[65536];
  ssize_t n = recv(fd, buf, sizeof buf, 0);
  if (n < 0) return -errno;
  if (out) out->assign(buf, static_cast<size_t>(n));
  return n;
}

class AgentEgressTest : public ::testing::Test {
 protected:
  AgentEgressTest() : h(kEgressArgs) {}
  void SetUp() override {
    ASSERT_TRUE(h.started());
    auto ack = h.handshake(AgentHarness::nonce('e'));
    ASSERT_TRUE(ack);
    auto j = nlohmann::json::parse(*ack);
    egress = j.at("egress");
    proxy_port = port_of(egress.at("proxy").get<std::string>());
    transparent_port = port_of(egress.at("transparent_addr").get<std::string>());
    dns_port = port_of(egress.at("dns_addr").get<std::string>());
  }

  /// Frames received until the reply to a ping (everything the agent had
  /// queued before it handled the ping).
  std::vector<Frame> until_ping() {
    uint64_t id = ++ping_id;
    h.send(proto::kControlChannel, FrameType::kControl,
           proto::to_json(proto::ControlRequest{id, "ping"}));
    std::vector<Frame> seen;
    for (;;) {
      auto f = h.recv();
      if (!f) {
        ADD_FAILURE() << "no ping reply";
        return seen;
      }
      if (f->type == FrameType::kControl) {
        auto r = proto::parse_control_response(f->payload);
        if (r && r->id == id) return seen;
      }
      seen.push_back(std::move(*f));
    }
  }

  /// Waits for the agent's OPEN for a new connection; returns its channel.
  uint32_t expect_open(proto::EgressOpen* req = nullptr) {
    auto f = h.recv();
    EXPECT_TRUE(f);
    if (!f) return 0;
    EXPECT_EQ(f->type, FrameType::kOpen) << proto::type_name(f->type);
    EXPECT_TRUE(f->channel & proto::kGuestChannelBit) << f->channel;
    EXPECT_NE(f->channel, proto::kHelloChannel);
    EXPECT_NE(f->channel, proto::kDnsChannel);
    auto kind = proto::open_kind(f->payload);
    EXPECT_TRUE(kind && *kind == "egress") << f->payload;
    auto r = proto::parse_egress_open(f->payload);
    EXPECT_TRUE(r) << f->payload;
    if (r && req) *req = *r;
    return f->channel;
  }

  AgentHarness h;
  nlohmann::json egress;
  uint16_t proxy_port = 0, transparent_port = 0, dns_port = 0;
  uint64_t ping_id = 100;
};

TEST_F(AgentEgressTest, HelloAckReportsTheBoundListeners) {
  EXPECT_NE(proxy_port, 0);
  EXPECT_EQ(egress.at("proxy"), "127.0.0.1:" + std::to_string(proxy_port));
  EXPECT_EQ(egress.at("transparent"), true);
  EXPECT_EQ(egress.at("dns"), true);
  EXPECT_NE(dns_port, 0);
  EXPECT_NE(transparent_port, 0);
}

TEST_F(AgentEgressTest, ForwardConnectionRelaysBothWaysAfterOpenOk) {
  Fd client = connect_to(proxy_port);
  ASSERT_TRUE(client.valid());
  // Sent before the host answers: must wait in the socket, not be lost.
  const std::string request = "CONNECT example.com:443 HTTP/1.1\r\n\r\n";
  ASSERT_TRUE(write_all(client.get(), request));
  proto::EgressOpen req;
  uint32_t ch = expect_open(&req);
  ASSERT_NE(ch, 0u);
  EXPECT_EQ(req.mode, "forward");
  // Nothing is read from the guest app before OPEN_OK.
  for (auto& f : until_ping()) EXPECT_NE(f.channel, ch) << proto::type_name(f.type);

  h.send(ch, FrameType::kOpenOk, "{}");
  std::string got;
  while (got.size() < request.size()) {
    auto f = h.recv_on(ch);
    ASSERT_TRUE(f);
    ASSERT_EQ(f->type, FrameType::kData) << proto::type_name(f->type);
    got += f->payload;
  }
  EXPECT_EQ(got, request);

  h.send(ch, FrameType::kData, "HTTP/1.1 200 OK\r\n\r\n");
  std::string reply;
  while (reply.size() < 19) {  // strlen of the status line + CRLF CRLF
    std::string part;
    ASSERT_GT(recv_result(client.get(), &part), 0);
    reply += part;
  }
  EXPECT_EQ(reply, "HTTP/1.1 200 OK\r\n\r\n");
  auto w = h.recv_on(ch);
  ASSERT_TRUE(w);
  ASSERT_EQ(w->type, FrameType::kWindow);
  EXPECT_EQ(*proto::decode_u32(w->payload), 19u);

  // Guest app half-closes: EOF to the host; the host's reply still flows.
  ASSERT_EQ(shutdown(client.get(), SHUT_WR), 0);
  auto eof = h.recv_on(ch);
  ASSERT_TRUE(eof);
  EXPECT_EQ(eof->type, FrameType::kEof);
  h.send(ch, FrameType::kData, "bye");
  h.send(ch, FrameType::kEof, "");
  std::string last;
  ASSERT_EQ(recv_result(client.get(), &last), 3);
  EXPECT_EQ(last, "bye");
  EXPECT_EQ(recv_result(client.get()), 0);  // the host's EOF
  // Both directions done: the agent ends the channel.
  bool closed = false;
  while (auto f = h.recv_on(ch)) {
    if (f->type == FrameType::kClose) {
      closed = true;
      break;
    }
    EXPECT_EQ(f->type, FrameType::kWindow);
  }
  EXPECT_TRUE(closed);
}

TEST_F(AgentEgressTest, GuestToHostDataRespectsCredit) {
  Fd client = connect_to(proxy_port);
  ASSERT_TRUE(client.valid());
  uint32_t ch = expect_open();
  ASSERT_NE(ch, 0u);
  h.send(ch, FrameType::kOpenOk, "{}");
  const size_t total = proto::kInitialWindow + (512u << 10);
  std::thread writer([&] {
    std::string blob(total, 'x');
    (void)write_all(client.get(), blob);
  });
  size_t got = 0;
  while (got < proto::kInitialWindow) {
    auto f = h.recv_on(ch);
    ASSERT_TRUE(f);
    ASSERT_EQ(f->type, FrameType::kData);
    got += f->payload.size();
  }
  EXPECT_EQ(got, proto::kInitialWindow);
  // Credit exhausted: nothing more is sent for this channel.
  for (auto& f : until_ping()) EXPECT_NE(f.channel, ch) << proto::type_name(f.type);
  h.send(ch, FrameType::kWindow, proto::encode_u32(static_cast<uint32_t>(total)));
  while (got < total) {
    auto f = h.recv_on(ch);
    ASSERT_TRUE(f);
    ASSERT_EQ(f->type, FrameType::kData);
    got += f->payload.size();
  }
  EXPECT_EQ(got, total);
  writer.join();
  h.send(ch, FrameType::kClose, "");
}

TEST_F(AgentEgressTest, OpenFailClosesTheGuestSocket) {
  Fd client = connect_to(proxy_port);
  ASSERT_TRUE(client.valid());
  uint32_t ch = expect_open();
  ASSERT_NE(ch, 0u);
  h.send(ch, FrameType::kOpenFail,
         proto::to_json(proto::OpenFailure{"denied by policy", 125}));
  long r = recv_result(client.get());
  EXPECT_TRUE(r == 0 || r == -ECONNRESET) << r;
  // The channel is gone: no CLOSE or anything else follows for it.
  for (auto& f : until_ping()) EXPECT_NE(f.channel, ch) << proto::type_name(f.type);
}

TEST_F(AgentEgressTest, HostCloseClosesTheGuestSocket) {
  Fd client = connect_to(proxy_port);
  ASSERT_TRUE(client.valid());
  uint32_t ch = expect_open();
  h.send(ch, FrameType::kOpenOk, "{}");
  h.send(ch, FrameType::kClose, "");
  long r = recv_result(client.get());
  EXPECT_TRUE(r == 0 || r == -ECONNRESET) << r;
}

TEST_F(AgentEgressTest, ChannelCapClosesExtraConnections) {
  constexpr int kCap = 256;
  std::vector<Fd> clients;
  std::set<uint32_t> ids;
  for (int i = 0; i < kCap; ++i) {
    clients.push_back(connect_to(proxy_port));
    ASSERT_TRUE(clients.back().valid());
    ids.insert(expect_open());
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(kCap));
  Fd extra = connect_to(proxy_port);
  ASSERT_TRUE(extra.valid());
  long r = recv_result(extra.get());
  EXPECT_TRUE(r == 0 || r == -ECONNRESET) << r;
  for (auto& f : until_ping()) EXPECT_NE(f.type, FrameType::kOpen);
  // Freeing one makes room again.
  h.send(*ids.begin(), FrameType::kOpenFail, proto::to_json(proto::OpenFailure{"no", 125}));
  Fd again = connect_to(proxy_port);
  ASSERT_TRUE(again.valid());
  uint32_t ch = expect_open();
  EXPECT_EQ(ids.count(ch), 0u) << "a channel id still in use was reused";
}

TEST_F(AgentEgressTest, DirectConnectionToTransparentPortIsClosed) {
  // Not redirected by netfilter: no original destination to relay to.
  Fd client = connect_to(transparent_port);
  ASSERT_TRUE(client.valid());
  long r = recv_result(client.get());
  EXPECT_TRUE(r == 0 || r == -ECONNRESET) << r;
  for (auto& f : until_ping()) EXPECT_NE(f.type, FrameType::kOpen);
}

TEST_F(AgentEgressTest, HostCannotOpenGuestChannelsOrEgress) {
  h.send(proto::kGuestChannelBit | 5, FrameType::kOpen, proto::to_json(exec({"true"})));
  auto f = h.recv_on(proto::kGuestChannelBit | 5);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->type, FrameType::kOpenFail);
  h.send(9, FrameType::kOpen, proto::to_json(proto::EgressOpen{}));
  auto g = h.recv_on(9);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->type, FrameType::kOpenFail) << g->payload;
}

TEST_F(AgentEgressTest, DnsQueryAndAnswerAreRelayedByTag) {
  Fd client = socket_with_guard(SOCK_DGRAM);
  auto stub = loopback(dns_port);
  ASSERT_EQ(connect(client.get(), reinterpret_cast<sockaddr*>(&stub), sizeof stub), 0);
  // Oversized first: it must be dropped, so the first DATAGRAM is the small one.
  std::string big(600, 'B');
  ASSERT_EQ(send(client.get(), big.data(), big.size(), 0), 600);
  std::string query("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07" "example\x03" "com\x00\x00\x01\x00\x01", 29);
  ASSERT_EQ(send(client.get(), query.data(), query.size(), 0), 29);
  auto f = h.recv_on(proto::kDnsChannel);
  ASSERT_TRUE(f);
  ASSERT_EQ(f->type, FrameType::kDatagram);
  auto d = proto::decode_datagram(f->payload);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->body, query);
  // An unknown tag is ignored; the right one reaches the client.
  h.send(proto::kDnsChannel, FrameType::kDatagram, proto::encode_datagram(d->tag + 1000, "bogus"));
  h.send(proto::kDnsChannel, FrameType::kDatagram, proto::encode_datagram(d->tag, "answer-1"));
  // A second answer for the same tag is ignored too (the entry is gone).
  h.send(proto::kDnsChannel, FrameType::kDatagram, proto::encode_datagram(d->tag, "answer-2"));
  std::string a;
  ASSERT_EQ(recv_result(client.get(), &a), 8);
  EXPECT_EQ(a, "answer-1");
  // Prove answer-2 was not delivered: a fresh query's answer comes next.
  ASSERT_EQ(send(client.get(), query.data(), query.size(), 0), 29);
  auto f2 = h.recv_on(proto::kDnsChannel);
  ASSERT_TRUE(f2);
  auto d2 = proto::decode_datagram(f2->payload);
  ASSERT_TRUE(d2);
  EXPECT_NE(d2->tag, d->tag);
  h.send(proto::kDnsChannel, FrameType::kDatagram, proto::encode_datagram(d2->tag, "answer-3"));
  std::string b;
  ASSERT_EQ(recv_result(client.get(), &b), 8);
  EXPECT_EQ(b, "answer-3");
}

TEST_F(AgentEgressTest, LoginEnvironmentHasTheProxyAndUserValuesWin) {
  auto req = exec({"env"});
  req.env = {"HTTPS_PROXY=http://mine:1"};
  auto o = h.run(1, req);
  ASSERT_TRUE(o.got_exit) << o.err;
  o.out = "\n" + o.out;
  std::string url = "http://127.0.0.1:" + std::to_string(proxy_port);
  EXPECT_NE(o.out.find("\nHTTP_PROXY=" + url + "\n"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("\nhttps_proxy=" + url + "\n"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("\nHTTPS_PROXY=http://mine:1\n"), std::string::npos) << o.out;
  EXPECT_EQ(o.out.find("HTTPS_PROXY=" + url), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("\nno_proxy=localhost,127.0.0.1,::1\n"), std::string::npos) << o.out;
}

TEST(AgentEgressNoHost, ConnectionsBeforeHelloAreClosedAtOnce) {
  // The port must be known before the first HELLO (which would report it).
  const uint16_t port = sbx::testing::free_loopback_port();
  AgentHarness h({"--egress-proxy", "127.0.0.1:" + std::to_string(port)});
  ASSERT_TRUE(h.started());
  Fd early;
  // The agent binds right after it starts; retry until it listens.
  for (int i = 0; i < 500 && !early.valid(); ++i) {
    early = connect_to(port);
    if (!early.valid()) std::this_thread::sleep_for(10ms);
  }
  ASSERT_TRUE(early.valid());
  long r = recv_result(early.get());
  EXPECT_TRUE(r == 0 || r == -ECONNRESET) << r;
  auto ack = h.handshake(AgentHarness::nonce('n'));
  ASSERT_TRUE(ack);
  // The early connection left no channel behind; a new one gets an OPEN.
  Fd later = connect_to(port);
  ASSERT_TRUE(later.valid());
  auto f = h.recv();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->type, FrameType::kOpen);
  EXPECT_EQ(f->channel, proto::kGuestChannelBit | 1);
}

}  // namespace
}  // namespace sbx::agent::testing
