#include "agent/tcp_address.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

namespace sbx::agent {
namespace {

TEST(TcpAddress, Ipv4LiteralAndLocalhost) {
  for (const char* h : {"127.0.0.1", "localhost"}) {
    auto a = resolve_literal(h, 5000);
    ASSERT_TRUE(a) << h;
    EXPECT_EQ(a->family, AF_INET);
    auto* in = reinterpret_cast<const sockaddr_in*>(&a->addr);
    EXPECT_EQ(ntohs(in->sin_port), 5000);
    EXPECT_EQ(ntohl(in->sin_addr.s_addr), 0x7f000001u);
    EXPECT_EQ(a->len, sizeof(sockaddr_in));
  }
}

TEST(TcpAddress, Ipv6LiteralWithAndWithoutBrackets) {
  for (const char* h : {"::1", "[::1]"}) {
    auto a = resolve_literal(h, 80);
    ASSERT_TRUE(a) << h;
    EXPECT_EQ(a->family, AF_INET6);
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(&a->addr);
    EXPECT_EQ(ntohs(in6->sin6_port), 80);
    EXPECT_TRUE(IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr));
  }
}

TEST(TcpAddress, NamesAreRejected) {
  for (const char* h : {"example.com", "127.0.0.1.nip.io", "", "1.2.3", "localhost."}) {
    auto a = resolve_literal(h, 80);
    EXPECT_FALSE(a) << h;
  }
  EXPECT_NE(resolve_literal("db", 1).error().message.find("not a numeric IP"), std::string::npos);
}

TEST(TcpAddress, Label) {
  EXPECT_EQ(endpoint_label("127.0.0.1", 5000), "127.0.0.1:5000");
  EXPECT_EQ(endpoint_label("::1", 22), "[::1]:22");
  EXPECT_EQ(endpoint_label("[::1]", 22), "[::1]:22");
}

}  // namespace
}  // namespace sbx::agent
