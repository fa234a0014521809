// The egress service end to end without a VM: a fake guest opens egress
// channels and sends DNS datagrams over a real AgentLink; the service
// decides by policy, relays to a loopback server and logs.
#include "daemon/egress_service.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mutex>
#include <set>
#include <thread>

#include "daemon/fake_guest.h"
#include "support/loopback_server.h"

namespace sbx::daemon {
namespace {

using proto::FrameType;
using testing::kGuestChannel;

constexpr const char* kForward = R"({"kind":"egress","mode":"forward"})";

// A loopback server that echoes each connection until EOF, then closes it.
class EchoServer : public sbx::testing::LoopbackServer {
 public:
  EchoServer() : LoopbackServer(sbx::testing::echo_until_eof) {}
};

// A standard query for `name`, type A, with id 0x1234.
std::string dns_query(const std::string& name) {
  std::string q = std::string("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 12);
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    q += static_cast<char>(dot - start);
    q += name.substr(start, dot - start);
    start = dot + 1;
  }
  q += std::string("\x00\x00\x01\x00\x01", 5);
  return q;
}

class EgressServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto netlog = net::NetworkLog::open(":memory:");
    ASSERT_TRUE(netlog.ok());
    auto resolver = std::make_unique<net::StaticResolver>();
    resolver->add("api.test", {*net::parse_ip("93.184.216.34")});
    set_policy(net::Preset::kBalanced, {});
    // No host proxy: the test must not depend on the environment's.
    service_ = std::make_unique<EgressService>(
        std::move(*netlog), [this] { std::lock_guard l(mu_); return policy_; },
        std::move(resolver), net::ProxySettings{}, log_);
    s1_ = testing::connect_fake_guest(log_);
    ASSERT_TRUE(s1_.link);
    service_->attach("s1", false, s1_.link);
  }
  void TearDown() override { service_.reset(); }

  void set_policy(net::Preset preset, const std::vector<std::string>& allow) {
    std::vector<net::Rule> rules;
    int64_t id = 1;
    for (auto& a : allow) rules.push_back(net::Rule{id++, "", net::Action::kAllow, *net::parse_resource(a)});
    std::lock_guard l(mu_);
    policy_ = std::make_shared<const net::Policy>(net::make_policy(preset, {}, rules));
  }
  std::vector<net::LogEntry> log_rows(const std::string& sandbox = "") {
    net::LogQuery q;
    q.sandbox = sandbox;
    auto r = service_->network_log().query(q);
    EXPECT_TRUE(r.ok());
    return r ? *r : std::vector<net::LogEntry>{};
  }
  // CONNECT through the forward proxy; returns what came back until the end.
  std::string connect_denied(testing::FakeGuest& g, uint32_t ch, uint16_t port) {
    EXPECT_EQ(g.open_egress(ch, kForward).type, FrameType::kOpenOk);
    std::string p = std::to_string(port);
    EXPECT_TRUE(g.send(ch, FrameType::kData, "CONNECT 127.0.0.1:" + p + " HTTP/1.1\r\nHost: 127.0.0.1:" + p + "\r\n\r\n"));
    bool closed = false;
    std::string out = g.read_until_end(ch, &closed);
    if (!closed) {
    EXPECT_TRUE(g.wait_close(ch));
  }
    return out;
  }
  std::string dns_reply(testing::FakeGuest& g, uint32_t tag, const std::string& name) {
    EXPECT_TRUE(g.send(proto::kDnsChannel, FrameType::kDatagram, proto::encode_datagram(tag, dns_query(name))));
    for (;;) {
      auto f = g.next_non_window();
      if (f.channel == 0 && f.type == FrameType::kClose) return "";
      if (f.channel != proto::kDnsChannel || f.type != FrameType::kDatagram) continue;
      auto d = proto::decode_datagram(f.payload);
      EXPECT_TRUE(d.ok());
      EXPECT_EQ(d->tag, tag);
      return d->body;
    }
  }

  Logger log_{stderr, LogLevel::kError};
  std::mutex mu_;
  std::shared_ptr<const net::Policy> policy_;
  std::unique_ptr<EgressService> service_;
  testing::LinkPair s1_;
};

TEST_F(EgressServiceTest, ConnectToLoopbackIsForbiddenAndLogged) {
  EchoServer up;
  std::string out = connect_denied(*s1_.guest, kGuestChannel, up.port());
  EXPECT_EQ(out.rfind("HTTP/1.1 403", 0), 0u) << out;
  auto rows = log_rows("s1");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_FALSE(rows[0].allowed);
  EXPECT_EQ(rows[0].host, "127.0.0.1");
  EXPECT_EQ(rows[0].port, up.port());
  EXPECT_EQ(rows[0].kind, "forward");
  EXPECT_EQ(rows[0].method, "CONNECT");
  EXPECT_NE(rows[0].rule.find("only an IP/CIDR rule can allow it"), std::string::npos) << rows[0].rule;
}

TEST_F(EgressServiceTest, CidrRuleAllowsAndBytesAreRelayedAndCounted) {
  EchoServer up;
  std::string p = std::to_string(up.port());
  // Denied first; the policy edit applies to the very next connection.
  EXPECT_EQ(connect_denied(*s1_.guest, kGuestChannel, up.port()).rfind("HTTP/1.1 403", 0), 0u);
  set_policy(net::Preset::kBalanced, {"127.0.0.1/32:" + p});
  auto& g = *s1_.guest;
  const uint32_t ch = kGuestChannel + 1;
  ASSERT_EQ(g.open_egress(ch, kForward).type, FrameType::kOpenOk);
  ASSERT_TRUE(g.send(ch, FrameType::kData, "CONNECT 127.0.0.1:" + p + " HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::string established = "HTTP/1.1 200 Connection Established\r\n\r\n";
  EXPECT_EQ(g.read_at_least(ch, established.size()), established);
  ASSERT_TRUE(g.send(ch, FrameType::kData, "ping-pong"));
  EXPECT_EQ(g.read_at_least(ch, 9), "ping-pong");
  // Guest EOF -> upstream EOF -> the echo server closes -> EOF to the guest.
  ASSERT_TRUE(g.send(ch, FrameType::kEof, ""));
  bool closed = false;
  EXPECT_EQ(g.read_until_end(ch, &closed), "");
  if (!closed) {
    EXPECT_TRUE(g.wait_close(ch));
  }
  auto rows = log_rows("s1");
  ASSERT_EQ(rows.size(), 2u);
  const auto& e = rows[0];  // newest first
  EXPECT_TRUE(e.allowed) << e.rule;
  EXPECT_EQ(e.rule, "allow 127.0.0.1:" + p + " (global, id 1)");  // /32 shown canonically
  EXPECT_TRUE(e.finished);
  EXPECT_EQ(e.bytes_up, 9u);
  EXPECT_EQ(e.bytes_down, 9u);
}

TEST_F(EgressServiceTest, DeniedNameGetsNxdomainWithTheSameTag) {
  std::string reply = dns_reply(*s1_.guest, 77, "denied.example");
  ASSERT_GE(reply.size(), 12u);
  EXPECT_EQ(reply.substr(0, 2), "\x12\x34");           // the query's id
  EXPECT_EQ(static_cast<uint8_t>(reply[3]) & 0x0F, 3);  // NXDOMAIN
  auto rows = log_rows("s1");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].kind, "dns");
  EXPECT_EQ(rows[0].host, "denied.example");
  EXPECT_FALSE(rows[0].allowed);
  // An allowed name resolves (through the service's resolver).
  set_policy(net::Preset::kBalanced, {"api.test"});
  reply = dns_reply(*s1_.guest, 78, "api.test");
  ASSERT_GE(reply.size(), 12u);
  EXPECT_EQ(static_cast<uint8_t>(reply[3]) & 0x0F, 0);        // NOERROR
  EXPECT_EQ(static_cast<uint8_t>(reply[7]), 1);               // one answer
  EXPECT_NE(reply.find(std::string("\x5d\xb8\xd8\x22", 4)), std::string::npos);  // 93.184.216.34
}

TEST_F(EgressServiceTest, DenyNetworkSandboxIsDeniedWhateverTheRules) {
  EchoServer up;
  set_policy(net::Preset::kAllowAll, {"127.0.0.1/32:" + std::to_string(up.port()), "api.test"});
  auto s2 = testing::connect_fake_guest(log_);
  ASSERT_TRUE(s2.link);
  service_->attach("s2", true, s2.link);
  std::string out = connect_denied(*s2.guest, kGuestChannel, up.port());
  EXPECT_EQ(out.rfind("HTTP/1.1 403", 0), 0u) << out;
  EXPECT_NE(out.find(kDenyNetworkRule), std::string::npos);
  std::string reply = dns_reply(*s2.guest, 5, "api.test");
  ASSERT_GE(reply.size(), 12u);
  EXPECT_EQ(static_cast<uint8_t>(reply[3]) & 0x0F, 3);
  auto rows = log_rows("s2");
  ASSERT_EQ(rows.size(), 2u);
  for (auto& r : rows) {
    EXPECT_FALSE(r.allowed);
    EXPECT_EQ(r.rule, kDenyNetworkRule);
  }
  // The other sandbox, same rules, is allowed.
  reply = dns_reply(*s1_.guest, 6, "api.test");
  ASSERT_GE(reply.size(), 12u);
  EXPECT_EQ(static_cast<uint8_t>(reply[3]) & 0x0F, 0);
  service_->detach("s2");
}

TEST_F(EgressServiceTest, DetachAbortsOpenConnectionsAndJoinsTheirThreads) {
  auto& g = *s1_.guest;
  // A connection that never sends its request: its thread waits for the head.
  ASSERT_EQ(g.open_egress(kGuestChannel, kForward).type, FrameType::kOpenOk);
  ASSERT_EQ(g.open_egress(kGuestChannel + 1, kForward).type, FrameType::kOpenOk);
  service_->detach("s1");
  EXPECT_EQ(service_->active_workers(), 0u);
  // Detached: new connections are refused by the link itself. The two
  // aborted channels' CLOSEs come first.
  auto f = g.open_egress(kGuestChannel + 2, kForward);
  std::set<uint32_t> closed;
  while (f.type == FrameType::kClose && f.channel != 0) {
    closed.insert(f.channel);
    f = g.next_non_window();
  }
  EXPECT_EQ(closed, (std::set<uint32_t>{kGuestChannel, kGuestChannel + 1}));
  EXPECT_EQ(f.channel, kGuestChannel + 2);
  EXPECT_EQ(f.type, FrameType::kOpenFail);
}

}  // namespace
}  // namespace sbx::daemon
