#include "net/egress_proxy.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <mutex>
#include <thread>

#include "support/loopback_server.h"

namespace sbx::net {
namespace {

using Server = sbx::testing::LoopbackServer;
using sbx::testing::echo_until_eof;

std::string read_all(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

std::string client_hello(const char* sni) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                        &SSL_CTX_free);
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), &SSL_free);
  BIO* wbio = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl.get(), BIO_new(BIO_s_mem()), wbio);
  SSL_set_tlsext_host_name(ssl.get(), sni);
  SSL_connect(ssl.get());
  char* p = nullptr;
  long n = BIO_get_mem_data(wbio, &p);
  return std::string(p, static_cast<size_t>(n));
}

class EgressProxyTest : public ::testing::Test {
 protected:
  const DnsNameCache* names_ = nullptr;  ///< set by tests that want one
  void SetUp() override {
    resolver_.add("api.test", {*parse_ip("127.0.0.1")});
    resolver_.add("rebind.test", {*parse_ip("10.0.0.1")});
    auto log = NetworkLog::open(":memory:");
    ASSERT_TRUE(log.ok());
    log_ = std::move(*log);
  }

  void set_rules(const std::vector<std::string>& allow) {
    std::vector<Rule> rules;
    int64_t id = 1;
    for (const auto& a : allow) rules.push_back(Rule{id++, "", Action::kAllow, *parse_resource(a)});
    std::lock_guard l(mu_);
    policy_ = std::make_shared<const Policy>(make_policy(Preset::kDenyAll, {}, rules));
  }

  // Sends `input` as the guest (then half-closes) and returns all it gets back.
  std::pair<std::string, ConnectionSummary> run(const ConnectionInfo& info,
                                                const std::string& input) {
    auto pair = socket_pair();
    EXPECT_TRUE(pair.ok());
    EgressOptions opts;
    opts.names = names_;
    EgressProxy proxy([this] { std::lock_guard l(mu_); return policy_; }, resolver_,
                      connector_, log_.get(), opts);
    FdStream stream(std::move(pair->second));
    ConnectionSummary s;
    std::thread t([&] { s = proxy.handle(stream, info); });
    EXPECT_TRUE(write_all(pair->first.get(), input).ok());
    ::shutdown(pair->first.get(), SHUT_WR);
    std::string out = read_all(pair->first.get());
    t.join();
    return {out, s};
  }

  ConnectionInfo forward() { return ConnectionInfo{"s1", ConnectionKind::kForward, {}, 0}; }

  std::mutex mu_;
  std::shared_ptr<const Policy> policy_;
  StaticResolver resolver_;
  UpstreamConnector connector_{ProxySettings{}, resolver_};
  std::unique_ptr<NetworkLog> log_;
};

TEST_F(EgressProxyTest, ConnectAllowedRelaysBothWaysAndCountsBytes) {
  Server up(echo_until_eof);
  std::string p = std::to_string(up.port());
  set_rules({"api.test:" + p, "127.0.0.1:" + p});
  auto [out, s] = run(forward(), "CONNECT api.test:" + p + " HTTP/1.1\r\nHost: x\r\n\r\nhello");
  EXPECT_EQ(out, "HTTP/1.1 200 Connection Established\r\n\r\nhello");
  EXPECT_TRUE(s.allowed) << s.rule << " " << s.error;
  EXPECT_EQ(s.bytes_up, 5u);
  EXPECT_EQ(s.bytes_down, 5u);
  auto entries = log_->query({});
  ASSERT_EQ(entries->size(), 1u);
  const auto& e = (*entries)[0];
  EXPECT_EQ(e.host, "api.test");
  EXPECT_EQ(e.method, "CONNECT");
  EXPECT_EQ(e.kind, "forward");
  EXPECT_TRUE(e.allowed);
  EXPECT_TRUE(e.finished);
  EXPECT_EQ(e.bytes_down, 5u);
}

TEST_F(EgressProxyTest, ConcurrentLargeTransfersKeepExactCounts) {
  // Each connection gets its own server (and port and rule), so the relays
  // really run concurrently.
  constexpr int kConns = 8;
  constexpr size_t kBytes = 1 << 20;
  std::vector<std::unique_ptr<Server>> servers;
  std::vector<std::string> allow;
  for (int i = 0; i < kConns; ++i) {
    servers.push_back(std::make_unique<Server>(echo_until_eof));
    std::string p = std::to_string(servers.back()->port());
    allow.push_back("api.test:" + p);
    allow.push_back("127.0.0.1:" + p);
  }
  set_rules(allow);
  EgressProxy proxy([this] { std::lock_guard l(mu_); return policy_; }, resolver_, connector_,
                    log_.get(), EgressOptions{4096});
  std::vector<std::thread> threads;
  std::vector<ConnectionSummary> sums(kConns);
  std::vector<size_t> got(kConns);
  for (int i = 0; i < kConns; ++i) {
    threads.emplace_back([&, i] {
      auto pair = socket_pair();
      FdStream stream(std::move(pair->second));
      std::thread t([&] {
        sums[i] = proxy.handle(stream, ConnectionInfo{"s" + std::to_string(i),
                                                      ConnectionKind::kForward, {}, 0});
      });
      std::string req = "CONNECT api.test:" + std::to_string(servers[i]->port()) +
                        " HTTP/1.1\r\n\r\n";
      std::thread writer([&, fd = pair->first.get()] {
        (void)write_all(fd, req);
        (void)write_all(fd, std::string(kBytes, static_cast<char>('a' + i)));
        ::shutdown(fd, SHUT_WR);
      });
      got[i] = read_all(pair->first.get()).size();
      writer.join();
      t.join();
    });
  }
  for (auto& t : threads) t.join();
  const size_t established = std::string("HTTP/1.1 200 Connection Established\r\n\r\n").size();
  for (int i = 0; i < kConns; ++i) {
    EXPECT_TRUE(sums[i].allowed) << i << " " << sums[i].rule;
    EXPECT_EQ(sums[i].bytes_up, kBytes) << i;
    EXPECT_EQ(sums[i].bytes_down, kBytes) << i;
    EXPECT_EQ(got[i], established + kBytes) << i;
  }
  auto entries = log_->query({"", false, 100});
  ASSERT_EQ(entries->size(), static_cast<size_t>(kConns));
  for (const auto& e : *entries) EXPECT_EQ(e.bytes_up, kBytes);
}

TEST_F(EgressProxyTest, ConnectDeniedGets403NamingRuleAndFix) {
  set_rules({});
  auto [out, s] = run(forward(), "CONNECT evil.test:443 HTTP/1.1\r\n\r\n");
  EXPECT_EQ(out.rfind("HTTP/1.1 403 Forbidden\r\n", 0), 0u) << out;
  EXPECT_NE(out.find("default policy deny-all"), std::string::npos);
  EXPECT_NE(out.find("sbx policy allow network evil.test\n"), std::string::npos) << out;
  EXPECT_FALSE(s.allowed);
  auto entries = log_->query({"s1", true, 10});
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].host, "evil.test");
  EXPECT_EQ((*entries)[0].port, 443);
}

TEST_F(EgressProxyTest, AllowedNameResolvingToPrivateAddressIsDenied) {
  set_rules({"rebind.test"});
  auto [out, s] = run(forward(), "CONNECT rebind.test:443 HTTP/1.1\r\n\r\n");
  EXPECT_EQ(out.rfind("HTTP/1.1 403", 0), 0u) << out;
  EXPECT_NE(s.rule.find("10.0.0.1 is private"), std::string::npos) << s.rule;
  // And the 22 port needs its own rule, message says how.
  auto [out22, s22] = run(forward(), "CONNECT rebind.test:22 HTTP/1.1\r\n\r\n");
  EXPECT_NE(out22.find("sbx policy allow network rebind.test:22"), std::string::npos) << out22;
}

TEST_F(EgressProxyTest, PlainHttpIsRewrittenToOriginForm) {
  std::string seen;
  Server up([&](int fd) {
    char buf[4096];
    while (seen.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) break;
      seen.append(buf, static_cast<size_t>(n));
    }
    (void)write_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi");
  });
  std::string p = std::to_string(up.port());
  set_rules({"api.test:" + p, "127.0.0.1:" + p});
  auto [out, s] = run(forward(), "GET http://api.test:" + p +
                                     "/x?y=1 HTTP/1.1\r\nHost: api.test\r\n"
                                     "Proxy-Connection: keep-alive\r\n\r\n");
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi");
  EXPECT_EQ(seen, "GET /x?y=1 HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n");
  auto entries = log_->query({});
  EXPECT_EQ((*entries)[0].method, "GET");
  EXPECT_EQ((*entries)[0].path, "/x?y=1");
}

TEST_F(EgressProxyTest, MalformedRequestGets400) {
  set_rules({});
  auto [out, s] = run(forward(), "GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n");
  EXPECT_EQ(out.rfind("HTTP/1.1 400 Bad Request", 0), 0u) << out;
  EXPECT_FALSE(s.error.empty());
  auto [out2, s2] = run(forward(), "GET /origin-form HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(out2.rfind("HTTP/1.1 400", 0), 0u) << out2;
  auto [out3, s3] = run(forward(), "CONNECT api.test HTTP/1.1\r\n\r\n");  // no port
  EXPECT_EQ(out3.rfind("HTTP/1.1 400", 0), 0u) << out3;
}

TEST_F(EgressProxyTest, TransparentTlsDecidesOnSni) {
  set_rules({"api.test"});
  ConnectionInfo info{"s1", ConnectionKind::kTransparent, parse_ip("93.184.216.34"), 443};
  // Denied name: closed without a byte.
  auto [out, s] = run(info, client_hello("evil.test"));
  EXPECT_EQ(out, "");
  EXPECT_FALSE(s.allowed);
  EXPECT_EQ(s.host, "evil.test");
  // Allowed name that resolves to loopback: still denied by the address rule.
  auto [out2, s2] = run(info, client_hello("api.test"));
  EXPECT_EQ(out2, "");
  EXPECT_FALSE(s2.allowed);
  EXPECT_NE(s2.rule.find("loopback"), std::string::npos) << s2.rule;
  auto entries = log_->query({});
  EXPECT_EQ((*entries)[0].kind, "transparent");
  EXPECT_EQ((*entries)[0].method, "TLS");
}

TEST_F(EgressProxyTest, TransparentRawTcpUsesOriginalAddress) {
  Server up(echo_until_eof);
  std::string p = std::to_string(up.port());
  set_rules({"127.0.0.1:" + p});
  ConnectionInfo info{"s1", ConnectionKind::kTransparent, parse_ip("127.0.0.1"), up.port()};
  auto [out, s] = run(info, "raw bytes");
  EXPECT_EQ(out, "raw bytes");
  EXPECT_TRUE(s.allowed) << s.rule;
  EXPECT_EQ(s.bytes_up, 9u);
  ConnectionInfo denied{"s1", ConnectionKind::kTransparent, parse_ip("10.0.0.5"), 5432};
  auto [out2, s2] = run(denied, "x");
  EXPECT_EQ(out2, "");
  EXPECT_NE(s2.rule.find("10.0.0.5 is private"), std::string::npos) << s2.rule;
}

TEST_F(EgressProxyTest, TransparentRawTcpIsDecidedByTheNameItsAddressCameFrom) {
  Server up(echo_until_eof);
  std::string p = std::to_string(up.port());
  resolver_.add("git.test", {*parse_ip("127.0.0.1")});
  DnsNameCache names;
  names.remember("s1", "git.test", {*parse_ip("127.0.0.1")});
  names_ = &names;
  ConnectionInfo info{"s1", ConnectionKind::kTransparent, parse_ip("127.0.0.1"), up.port()};
  // Attributed to the name the guest resolved (the CIDR rule still vouches
  // for the loopback address).
  set_rules({"127.0.0.1/32:" + p, "git.test:" + p});
  auto [out, s] = run(info, "ssh-ish");
  EXPECT_EQ(out, "ssh-ish");
  EXPECT_TRUE(s.allowed) << s.rule;
  EXPECT_EQ(s.host, "git.test");
  // So a deny rule for the name applies, where the address alone would pass.
  {
    std::vector<Rule> rules{Rule{1, "", Action::kAllow, *parse_resource("127.0.0.1/32:" + p)},
                            Rule{2, "", Action::kDeny, *parse_resource("git.test")}};
    std::lock_guard l(mu_);
    policy_ = std::make_shared<const Policy>(make_policy(Preset::kDenyAll, {}, rules));
  }
  auto [out2, s2] = run(info, "x");
  EXPECT_EQ(out2, "");
  EXPECT_FALSE(s2.allowed);
  EXPECT_NE(s2.rule.find("deny git.test"), std::string::npos) << s2.rule;
  // Another sandbox's lookups say nothing about this one's connections.
  ConnectionInfo other{"s2", ConnectionKind::kTransparent, parse_ip("127.0.0.1"), up.port()};
  auto [out3, s3] = run(other, "y");
  EXPECT_TRUE(s3.allowed) << s3.rule;
  EXPECT_EQ(s3.host, "127.0.0.1");
}

TEST_F(EgressProxyTest, TransparentHttpUsesHostHeader) {
  set_rules({});
  ConnectionInfo info{"s1", ConnectionKind::kTransparent, parse_ip("93.184.216.34"), 80};
  auto [out, s] = run(info, "GET /p HTTP/1.1\r\nHost: Blocked.Test\r\n\r\n");
  EXPECT_EQ(out.rfind("HTTP/1.1 403", 0), 0u) << out;
  EXPECT_EQ(s.host, "blocked.test");
  EXPECT_NE(out.find("sbx policy allow network blocked.test\n"), std::string::npos);
}

TEST_F(EgressProxyTest, UpstreamFailureGives502) {
  uint16_t dead_port;
  { Server tmp(echo_until_eof); dead_port = tmp.port(); }
  std::string p = std::to_string(dead_port);
  set_rules({"api.test:" + p, "127.0.0.1:" + p});
  auto [out, s] = run(forward(), "CONNECT api.test:" + p + " HTTP/1.1\r\n\r\n");
  EXPECT_EQ(out.rfind("HTTP/1.1 502 Bad Gateway", 0), 0u) << out;
  EXPECT_TRUE(s.allowed);
  EXPECT_FALSE(s.error.empty());
}

}  // namespace
}  // namespace sbx::net
