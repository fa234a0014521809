#include "net/resolver.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <thread>

#include "support/loopback_server.h"

namespace sbx::net {
namespace {

using sbx::testing::LoopbackServer;

std::string read_head(int fd) {
  std::string head;
  char c;
  while (head.find("\r\n\r\n") == std::string::npos && ::read(fd, &c, 1) == 1) head += c;
  return head;
}

TEST(SystemResolver, ResolvesLocalhostAndLiterals) {
  SystemResolver r;
  auto a = r.resolve("localhost");
  ASSERT_TRUE(a.ok()) << a.error().message;
  ASSERT_FALSE(a->empty());
  EXPECT_EQ(classify((*a)[0]), AddressClass::kLoopback);
  auto lit = r.resolve("192.0.2.7");
  ASSERT_TRUE(lit.ok());
  EXPECT_EQ((*lit)[0].to_string(), "192.0.2.7");
  EXPECT_FALSE(r.resolve("no-such-host.invalid").ok());
}

TEST(StaticResolver, Table) {
  StaticResolver r;
  r.add("a.test", {*parse_ip("1.2.3.4")});
  EXPECT_EQ(r.resolve("a.test")->at(0).to_string(), "1.2.3.4");
  EXPECT_FALSE(r.resolve("b.test").ok());
}

TEST(ProxySettings, ParsesEnvAndNoProxy) {
  auto s = ProxySettings::from_env({{"HTTPS_PROXY", "http://u:p@proxy.corp:3128/"},
                                    {"http_proxy", "proxy.corp:8080"},
                                    {"NO_PROXY", "internal.corp, .svc.local:443,10.0.0.0/8"}});
  ASSERT_TRUE(s.https_proxy.has_value());
  EXPECT_EQ(*s.https_proxy, (ProxyUrl{"proxy.corp", 3128, "u:p"}));
  EXPECT_EQ(s.http_proxy->port, 8080);
  EXPECT_TRUE(s.proxy_for("api.example.com", 443).has_value());
  EXPECT_EQ(s.proxy_for("api.example.com", 80)->port, 8080);
  EXPECT_FALSE(s.proxy_for("internal.corp", 443).has_value());
  EXPECT_FALSE(s.proxy_for("git.internal.corp", 443).has_value());
  EXPECT_TRUE(s.proxy_for("notinternal.corp", 443).has_value());
  EXPECT_FALSE(s.proxy_for("a.svc.local", 443).has_value());
  EXPECT_FALSE(s.proxy_for("10.1.2.3", 443).has_value());
  EXPECT_TRUE(s.proxy_for("11.1.2.3", 443).has_value());
  auto all = ProxySettings::from_env({{"https_proxy", "http://p:1"}, {"no_proxy", "*"}});
  EXPECT_FALSE(all.proxy_for("x.com", 443).has_value());
  EXPECT_FALSE(ProxySettings::from_env({}).proxy_for("x.com", 443).has_value());
  EXPECT_FALSE(parse_proxy_url("socks5://h:1").ok());
  EXPECT_FALSE(parse_proxy_url("h").ok());  // no scheme, no port
}

TEST(UpstreamConnector, DirectConnectToCheckedAddress) {
  LoopbackServer server;  // accepts and closes
  ASSERT_TRUE(server.ok());
  const uint16_t port = server.port();
  StaticResolver r;
  UpstreamConnector c(ProxySettings{}, r);
  EXPECT_FALSE(c.via_proxy("x.com", 443));
  auto fd = c.connect_direct(*parse_ip("127.0.0.1"), port);
  ASSERT_TRUE(fd.ok()) << fd.error().message;
  EXPECT_TRUE(server.wait_accepted(1));
  server.stop();
  EXPECT_FALSE(c.connect_direct(*parse_ip("127.0.0.1"), port).ok());  // refused
}

TEST(UpstreamConnector, TunnelsThroughConnectProxy) {
  std::string seen;
  // A tiny CONNECT proxy: checks the request, says 200, then echoes.
  LoopbackServer proxy([&](int c) {
    seen = read_head(c);
    std::string ok = "HTTP/1.1 200 Connection Established\r\n\r\n";
    (void)write_all(c, ok);
    char buf[64];
    ssize_t n = ::read(c, buf, sizeof buf);
    if (n > 0) (void)write_all(c, std::string_view(buf, static_cast<size_t>(n)));
  });
  ASSERT_TRUE(proxy.ok());
  const uint16_t port = proxy.port();
  StaticResolver r;
  r.add("proxy.test", {*parse_ip("127.0.0.1")});
  auto settings = ProxySettings::from_env(
      {{"https_proxy", "http://user:secret@proxy.test:" + std::to_string(port)}});
  UpstreamConnector c(settings, r);
  EXPECT_TRUE(c.via_proxy("api.example.com", 443));
  auto fd = c.connect_via_proxy("api.example.com", 443);
  ASSERT_TRUE(fd.ok()) << fd.error().message;
  ASSERT_TRUE(write_all(fd->get(), "ping").ok());
  auto back = read_some(fd->get(), 64);
  proxy.stop();
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, "ping");
  EXPECT_EQ(seen.rfind("CONNECT api.example.com:443 HTTP/1.1\r\n", 0), 0u) << seen;
  EXPECT_NE(seen.find("Proxy-Authorization: Basic dXNlcjpzZWNyZXQ="), std::string::npos) << seen;
}

TEST(UpstreamConnector, ReportsProxyRefusal) {
  LoopbackServer proxy([](int c) {
    read_head(c);
    (void)write_all(c, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
  });
  ASSERT_TRUE(proxy.ok());
  const uint16_t port = proxy.port();
  StaticResolver r;
  auto settings =
      ProxySettings::from_env({{"https_proxy", "http://127.0.0.1:" + std::to_string(port)}});
  UpstreamConnector c(settings, r);
  auto fd = c.connect_via_proxy("blocked.example", 443);
  proxy.stop();
  ASSERT_FALSE(fd.ok());
  EXPECT_NE(fd.error().message.find("403 Forbidden"), std::string::npos) << fd.error().message;
}

}  // namespace
}  // namespace sbx::net
