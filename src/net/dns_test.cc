#include "net/dns.h"

#include <gtest/gtest.h>

namespace sbx::net {
namespace {

std::string query(std::string_view name, uint16_t qtype, uint16_t id = 0x1234) {
  std::string p;
  p += static_cast<char>(id >> 8);
  p += static_cast<char>(id & 0xff);
  p += std::string("\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 10);  // RD, QDCOUNT=1
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    p += static_cast<char>(dot - start);
    p += name.substr(start, dot - start);
    start = dot + 1;
  }
  p += '\0';
  p += static_cast<char>(qtype >> 8);
  p += static_cast<char>(qtype & 0xff);
  p += std::string("\x00\x01", 2);
  return p;
}

uint8_t rcode(const std::string& resp) { return static_cast<uint8_t>(resp[3]) & 0xf; }
uint16_t ancount(const std::string& resp) {
  return static_cast<uint16_t>(static_cast<uint8_t>(resp[6]) << 8 | static_cast<uint8_t>(resp[7]));
}

TEST(DnsParse, ParsesStandardQuery) {
  auto q = parse_dns_query(query("Api.Example.COM", kDnsTypeAaaa));
  ASSERT_TRUE(q.ok()) << q.error().message;
  EXPECT_EQ(q->id, 0x1234);
  EXPECT_EQ(q->name, "api.example.com");
  EXPECT_EQ(q->qtype, kDnsTypeAaaa);
  EXPECT_TRUE(q->recursion_desired);
}

TEST(DnsParse, RejectsMalformed) {
  auto good = query("a.com", kDnsTypeA);
  EXPECT_FALSE(parse_dns_query(good.substr(0, 11)).ok());
  EXPECT_FALSE(parse_dns_query(good.substr(0, good.size() - 1)).ok());
  std::string response = good;
  response[2] |= static_cast<char>(0x80);
  EXPECT_FALSE(parse_dns_query(response).ok());
  std::string two = good;
  two[5] = 2;
  EXPECT_FALSE(parse_dns_query(two).ok());
  // A compression pointer pointing at itself: refused, not looped on.
  std::string loop = good.substr(0, 12) + std::string("\xc0\x0c\x00\x01\x00\x01", 6);
  auto r = parse_dns_query(loop);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("compressed"), std::string::npos);
  // Label length past the end.
  std::string overrun = good.substr(0, 12) + std::string("\x3f" "abc", 4);
  EXPECT_FALSE(parse_dns_query(overrun).ok());
  EXPECT_FALSE(parse_dns_query(std::string(600, '\0')).ok());
  EXPECT_TRUE(dns_error_response("short", DnsRcode::kFormErr).empty());
}

TEST(DnsResponder, AnswersAllowedRefusesDeniedAndLogs) {
  StaticResolver res;
  res.add("api.example.com", {*parse_ip("93.184.216.34"), *parse_ip("2606:2800::1"),
                              *parse_ip("10.0.0.1")});
  res.add("rebind.example.com", {*parse_ip("127.0.0.1")});
  auto p = std::make_shared<const Policy>(make_policy(
      Preset::kDenyAll, {},
      {Rule{1, "", Action::kAllow, *parse_resource("*.example.com")}}));
  auto log = NetworkLog::open(":memory:");
  ASSERT_TRUE(log.ok());
  DnsResponder dns([p] { return p; }, res, log->get());

  auto a = dns.answer("s1", query("api.example.com", kDnsTypeA, 7));
  EXPECT_EQ(rcode(a), 0);
  ASSERT_EQ(ancount(a), 1);  // the private 10.0.0.1 is filtered out
  EXPECT_EQ(a.substr(a.size() - 4), std::string("\x5d\xb8\xd8\x22", 4));
  EXPECT_EQ(static_cast<uint8_t>(a[0]), 0);
  EXPECT_EQ(static_cast<uint8_t>(a[1]), 7);
  EXPECT_EQ(ancount(dns.answer("s1", query("api.example.com", kDnsTypeAaaa))), 1);

  auto denied = dns.answer("s1", query("evil.org", kDnsTypeA));
  EXPECT_EQ(rcode(denied), static_cast<uint8_t>(DnsRcode::kNxDomain));
  EXPECT_EQ(ancount(denied), 0);

  auto rebind = dns.answer("s1", query("rebind.example.com", kDnsTypeA));
  EXPECT_EQ(rcode(rebind), 0);
  EXPECT_EQ(ancount(rebind), 0);

  auto bad = dns.answer("s1", std::string(12, '\0'));
  EXPECT_EQ(rcode(bad), static_cast<uint8_t>(DnsRcode::kFormErr));

  auto entries = (*log)->query({"s1", false, 10});
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 4u);
  EXPECT_EQ((*entries)[0].host, "rebind.example.com");
  EXPECT_FALSE((*entries)[0].allowed);
  EXPECT_NE((*entries)[0].rule.find("loopback"), std::string::npos);
  EXPECT_EQ((*entries)[1].host, "evil.org");
  EXPECT_EQ((*entries)[1].rule, "default policy deny-all");
  EXPECT_EQ((*entries)[1].kind, "dns");
  EXPECT_TRUE((*entries)[3].allowed);
}

TEST(DnsResponder, TeachesTheNameCacheOnlyWhatItAnswered) {
  StaticResolver res;
  res.add("git.example.com", {*parse_ip("93.184.216.34"), *parse_ip("10.0.0.1")});
  res.add("evil.org", {*parse_ip("198.51.100.9")});
  auto p = std::make_shared<const Policy>(make_policy(
      Preset::kDenyAll, {}, {Rule{1, "", Action::kAllow, *parse_resource("git.example.com:22")}}));
  DnsNameCache names;
  DnsResponder dns([p] { return p; }, res, nullptr, &names);
  EXPECT_EQ(ancount(dns.answer("s1", query("git.example.com", kDnsTypeA))), 1);
  EXPECT_EQ(names.lookup("s1", *parse_ip("93.184.216.34")), "git.example.com");
  // The filtered private address and a denied name's address are not learnt.
  EXPECT_FALSE(names.lookup("s1", *parse_ip("10.0.0.1")));
  EXPECT_EQ(rcode(dns.answer("s1", query("evil.org", kDnsTypeA))),
            static_cast<uint8_t>(DnsRcode::kNxDomain));
  EXPECT_FALSE(names.lookup("s1", *parse_ip("198.51.100.9")));
}

}  // namespace
}  // namespace sbx::net
