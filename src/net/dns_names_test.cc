#include "net/dns_names.h"

#include <gtest/gtest.h>

namespace sbx::net {
namespace {

using namespace std::chrono_literals;

TEST(DnsNameCache, RemembersPerSandboxUntilItExpiresOrIsForgotten) {
  DnsNameCache c(100, 60s);
  auto t0 = DnsNameCache::Clock::now();
  c.remember("s1", "git.example", {*parse_ip("192.0.2.1"), *parse_ip("2001:db8::1")}, t0);
  EXPECT_EQ(c.lookup("s1", *parse_ip("192.0.2.1"), t0), "git.example");
  EXPECT_EQ(c.lookup("s1", *parse_ip("::ffff:192.0.2.1"), t0), "git.example") << "mapped form";
  EXPECT_EQ(c.lookup("s1", *parse_ip("2001:db8::1"), t0), "git.example");
  EXPECT_FALSE(c.lookup("s2", *parse_ip("192.0.2.1"), t0)) << "another sandbox's answer";
  EXPECT_FALSE(c.lookup("s1", *parse_ip("192.0.2.1"), t0 + 61s)) << "expired";
  // A later answer for the same address wins.
  c.remember("s1", "other.example", {*parse_ip("192.0.2.1")}, t0);
  EXPECT_EQ(c.lookup("s1", *parse_ip("192.0.2.1"), t0), "other.example");
  c.forget("s1");
  EXPECT_FALSE(c.lookup("s1", *parse_ip("2001:db8::1"), t0));
  EXPECT_EQ(c.size(), 0u);
}

TEST(DnsNameCache, StaysBoundedAndDropsTheOldestFirst) {
  DnsNameCache c(64, 60s);
  auto t0 = DnsNameCache::Clock::now();
  auto addr = [](int i) {
    return IpAddress::v4(198, 18, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i & 0xff));
  };
  for (int i = 0; i < 1000; ++i) {
    c.remember("s", "n" + std::to_string(i) + ".example", {addr(i)}, t0);
    ASSERT_LE(c.size(), 64u);
  }
  EXPECT_EQ(c.lookup("s", addr(999), t0), "n999.example");
  IpAddress oldest = addr(0);
  EXPECT_FALSE(c.lookup("s", oldest, t0));
}

}  // namespace
}  // namespace sbx::net
