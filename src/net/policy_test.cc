#include "net/policy.h"

#include <gtest/gtest.h>

#include "net/hostname.h"

namespace sbx::net {
namespace {

Rule rule(int64_t id, Action a, std::string_view res, std::string sandbox = "") {
  auto r = parse_resource(res);
  EXPECT_TRUE(r.ok()) << res << ": " << (r ? "" : r.error().message);
  return Rule{id, std::move(sandbox), a, *r};
}

Policy policy(Preset p, std::vector<Rule> rules) { return make_policy(p, {}, std::move(rules)); }

bool allowed(const Policy& p, std::string host, uint16_t port = 443, std::string sb = "s1") {
  return decide(p, sb, Target{std::move(host), std::nullopt, port}).allowed;
}

TEST(Policy, DenyAllOverridesEveryRuleAndNamesItsReason) {
  Policy p = policy(Preset::kAllowAll, {rule(1, Action::kAllow, "example.com"),
                                        rule(2, Action::kAllow, "127.0.0.1/32:8080")});
  ASSERT_TRUE(allowed(p, "example.com"));
  p.deny_all = "sandbox created with --deny-network";
  auto d = decide(p, "s1", Target{"example.com", std::nullopt, 443});
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.rule, "sandbox created with --deny-network");
  EXPECT_FALSE(decide(p, "s1", Target{"", *parse_ip("127.0.0.1"), 8080}).allowed);
  EXPECT_FALSE(decide(p, "s1", Target{"example.com", std::nullopt, 0}).allowed);  // DNS
}

TEST(Resource, ParsesKinds) {
  auto d = parse_resource("Example.COM.");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->kind, Resource::Kind::kDomain);
  EXPECT_EQ(d->to_string(), "example.com");
  auto w = parse_resource("*.Example.com:8443");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->kind, Resource::Kind::kWildcard);
  EXPECT_EQ(w->to_string(), "*.example.com:8443");
  auto c = parse_resource("10.0.0.0/8");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->kind, Resource::Kind::kCidr);
  EXPECT_EQ(c->to_string(), "10.0.0.0/8");
  EXPECT_EQ(parse_resource("[::1]:22")->to_string(), "[::1]:22");
  EXPECT_EQ(parse_resource("::1/128")->to_string(), "::1");
  EXPECT_EQ(parse_resource("github.com:22")->port, 22);
  EXPECT_EQ(parse_resource("::ffff:10.0.0.0/104")->to_string(), "10.0.0.0/8");
}

TEST(Resource, RoundTripsThroughText) {
  for (auto t : {"a.b.c", "*.x.org:22", "192.168.1.0/24:5432", "[fd00::/8]:443", "fe80::/10"}) {
    auto r = parse_resource(t);
    ASSERT_TRUE(r.ok()) << t;
    auto again = parse_resource(r->to_string());
    ASSERT_TRUE(again.ok()) << r->to_string();
    EXPECT_EQ(*again, *r);
  }
}

TEST(Resource, RejectsInvalidWithClearErrors) {
  for (auto t : {"", "a..b", "-a.com", "a.com:0", "a.com:65536", "a.com:x", "*", "a.*.com",
                 "10.0.0.1/8", "10.0.0.0/33", "[10.0.0.1]:22", "a b.com", "127.1",
                 "[::1", "*.", "x.com:22:33"}) {
    auto r = parse_resource(t);
    ASSERT_FALSE(r.ok()) << t;
    EXPECT_EQ(r.error().message.rfind("invalid rule '", 0), 0u) << r.error().message;
  }
  EXPECT_NE(parse_resource("10.0.0.1/8").error().message.find("did you mean 10.0.0.0/8"),
            std::string::npos);
}

TEST(Resource, ParsesCommaSeparatedList) {
  auto l = parse_resource_list("a.com, *.b.org,host:22,10.0.0.0/8,,a.com");
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->size(), 4u);
  EXPECT_EQ((*l)[1].to_string(), "*.b.org");
  EXPECT_EQ((*l)[2].port, 22);
  EXPECT_FALSE(parse_resource_list("a.com,bad..name").ok());
  EXPECT_FALSE(parse_resource_list(" , ").ok());
}

TEST(Hostname, NormalisesCaseDotsAndIdn) {
  EXPECT_EQ(*normalize_host("WWW.Example.COM."), "www.example.com");
  EXPECT_EQ(*normalize_host("bücher.example"), "xn--bcher-kva.example");
  EXPECT_EQ(*normalize_host("BÜCHER.example"), "xn--bcher-kva.example");
  EXPECT_EQ(*normalize_host("xn--bcher-kva.example"), "xn--bcher-kva.example");
  EXPECT_FALSE(normalize_host("a..b").ok());
  EXPECT_FALSE(normalize_host(std::string(64, 'a') + ".com").ok());
  EXPECT_FALSE(normalize_host("a/b.com").ok());
}

TEST(Decide, WildcardMatchesSubdomainsButNotApex) {
  auto p = policy(Preset::kDenyAll, {rule(1, Action::kAllow, "*.example.com")});
  EXPECT_TRUE(allowed(p, "a.example.com"));
  EXPECT_TRUE(allowed(p, "a.b.example.com"));
  EXPECT_FALSE(allowed(p, "example.com"));
  EXPECT_FALSE(allowed(p, "badexample.com"));
  EXPECT_FALSE(allowed(p, "example.com.evil.org"));
}

TEST(Decide, PortlessRuleAllowsOnlyWebPorts) {
  auto p = policy(Preset::kDenyAll, {rule(1, Action::kAllow, "github.com"),
                                     rule(2, Action::kAllow, "git.example.org:22")});
  EXPECT_TRUE(allowed(p, "github.com", 443));
  EXPECT_TRUE(allowed(p, "github.com", 80));
  EXPECT_FALSE(allowed(p, "github.com", 22));
  EXPECT_TRUE(allowed(p, "git.example.org", 22));
  EXPECT_FALSE(allowed(p, "git.example.org", 443));
  // Port 0 is a DNS lookup: any allow rule makes the name resolvable.
  EXPECT_TRUE(allowed(p, "git.example.org", 0));
}

TEST(Decide, DenyBeatsAllowAndNamesTheRule) {
  auto p = policy(Preset::kAllowAll, {rule(1, Action::kAllow, "a.example.com"),
                                      rule(7, Action::kDeny, "*.example.com")});
  auto d = decide(p, "s1", Target{"a.example.com", std::nullopt, 443});
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.rule_id, 7);
  EXPECT_EQ(d.rule, "deny *.example.com (global, id 7)");
  // Deny without a port covers every port.
  EXPECT_FALSE(allowed(p, "x.example.com", 8080));
  EXPECT_TRUE(allowed(p, "other.org", 8080));  // allow-all default
}

TEST(Decide, CaseTrailingDotAndIdnInTargets) {
  auto p = policy(Preset::kDenyAll, {rule(1, Action::kAllow, "bücher.example"),
                                     rule(2, Action::kAllow, "API.Example.com.")});
  EXPECT_TRUE(allowed(p, "xn--bcher-kva.example"));
  EXPECT_TRUE(allowed(p, "BÜCHER.example."));
  EXPECT_TRUE(allowed(p, "api.example.COM."));
  EXPECT_FALSE(allowed(p, "bucher.example"));
}

TEST(Decide, SandboxScopeAndGlobalBothApply) {
  auto p = policy(Preset::kDenyAll, {rule(1, Action::kAllow, "g.com"),
                                     rule(2, Action::kAllow, "only-s1.com", "s1"),
                                     rule(3, Action::kDeny, "g.com", "s2")});
  EXPECT_TRUE(allowed(p, "g.com", 443, "s1"));
  EXPECT_TRUE(allowed(p, "only-s1.com", 443, "s1"));
  EXPECT_FALSE(allowed(p, "only-s1.com", 443, "s2"));
  EXPECT_FALSE(allowed(p, "g.com", 443, "s2"));
  auto d = decide(p, "s2", Target{"g.com", std::nullopt, 443});
  EXPECT_EQ(d.rule, "deny g.com (sandbox s2, id 3)");
}

TEST(Decide, DefaultsAndPresetAllowlist) {
  PresetInputs in;
  in.apt_hosts = {"http://mirror.example.net/debian", "bad host!"};
  in.npm_registry = "https://npm.corp.example/";
  auto p = make_policy(Preset::kBalanced, in, {});
  EXPECT_TRUE(allowed(p, "api.anthropic.com"));
  EXPECT_TRUE(allowed(p, "raw.githubusercontent.com"));
  EXPECT_TRUE(allowed(p, "mirror.example.net", 80));
  EXPECT_TRUE(allowed(p, "npm.corp.example"));
  auto d = decide(p, "s", Target{"evil.example", std::nullopt, 443});
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.rule, "default policy balanced");
  EXPECT_EQ(decide(p, "s", Target{"pypi.org", std::nullopt, 443}).rule,
            "preset balanced: pypi.org");
  EXPECT_FALSE(allowed(make_policy(Preset::kDenyAll, in, {}), "api.anthropic.com"));
  EXPECT_TRUE(allowed(make_policy(Preset::kAllowAll, in, {}), "anything.example", 5432));
}

TEST(Decide, NonPublicAddressesNeedCidrRules) {
  auto p = policy(Preset::kAllowAll, {rule(1, Action::kAllow, "internal.corp")});
  auto at = [&](const char* ip, std::string host = "internal.corp") {
    return decide(p, "s", Target{host, parse_ip(ip), 443});
  };
  EXPECT_TRUE(at("93.184.216.34").allowed);
  for (auto ip : {"127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "100.64.0.1",
                  "169.254.169.254", "0.0.0.0", "224.0.0.1", "::1", "::", "fe80::1",
                  "fd00::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
                  "64:ff9b::a00:1", "255.255.255.255"}) {
    auto d = at(ip);
    EXPECT_FALSE(d.allowed) << ip;
    EXPECT_NE(d.rule.find("only an IP/CIDR rule"), std::string::npos) << d.rule;
  }
  // Bare literals as host names, including inet_aton disguises.
  for (auto h : {"127.0.0.1", "2130706433", "0x7f.1", "[::1]", "10.0.0.1"})
    EXPECT_FALSE(decide(p, "s", Target{h, std::nullopt, 443}).allowed) << h;
  // An explicit CIDR rule allows the private range, mapped form included.
  auto p2 = policy(Preset::kDenyAll, {rule(1, Action::kAllow, "10.0.0.0/8"),
                                      rule(2, Action::kAllow, "[fd00::/8]:5432")});
  EXPECT_TRUE(decide(p2, "s", Target{"", parse_ip("10.9.8.7"), 443}).allowed);
  EXPECT_TRUE(decide(p2, "s", Target{"", parse_ip("::ffff:10.9.8.7"), 80}).allowed);
  EXPECT_FALSE(decide(p2, "s", Target{"", parse_ip("10.9.8.7"), 22}).allowed);
  EXPECT_TRUE(decide(p2, "s", Target{"", parse_ip("fd12::1"), 5432}).allowed);
  EXPECT_FALSE(decide(p2, "s", Target{"", parse_ip("fe80::1"), 5432}).allowed);
  EXPECT_TRUE(decide(p2, "s", Target{"db.corp", parse_ip("10.0.0.5"), 443}).allowed);
}

TEST(Decide, IpLiteralsAreNotVouchedForByDomainRules) {
  auto p = policy(Preset::kBalanced, {rule(1, Action::kAllow, "1.1.1.1")});
  EXPECT_TRUE(decide(p, "s", Target{"1.1.1.1", std::nullopt, 443}).allowed);
  EXPECT_FALSE(decide(p, "s", Target{"8.8.8.8", std::nullopt, 443}).allowed);
  EXPECT_FALSE(decide(p, "s", Target{"", parse_ip("8.8.8.8"), 443}).allowed);
  auto allow_all = policy(Preset::kAllowAll, {});
  EXPECT_TRUE(decide(allow_all, "s", Target{"", parse_ip("8.8.8.8"), 443}).allowed);
  auto d = decide(p, "s", Target{"", std::nullopt, 443});
  EXPECT_FALSE(d.allowed);
}

TEST(Decide, DenyCidrBlocksResolvedAddressOfAllowedName) {
  auto p = policy(Preset::kDenyAll, {rule(1, Action::kAllow, "cdn.example"),
                                     rule(2, Action::kDeny, "203.0.113.0/24"),
                                     rule(3, Action::kDeny, "8.8.8.0/24")});
  EXPECT_TRUE(decide(p, "s", Target{"cdn.example", parse_ip("9.9.9.9"), 443}).allowed);
  auto d = decide(p, "s", Target{"cdn.example", parse_ip("8.8.8.8"), 443});
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.rule_id, 3);
}

TEST(Address, ClassifyAndCidr) {
  EXPECT_EQ(classify(*parse_ip("8.8.8.8")), AddressClass::kPublic);
  EXPECT_EQ(classify(*parse_ip("2606:4700::1111")), AddressClass::kPublic);
  EXPECT_EQ(classify(*parse_ip("::ffff:192.168.0.1")), AddressClass::kPrivate);
  EXPECT_EQ(classify(*parse_ip("100.127.255.255")), AddressClass::kCgnat);
  EXPECT_EQ(classify(*parse_ip("100.128.0.0")), AddressClass::kPublic);
  EXPECT_EQ(classify(*parse_ip("fc00::")), AddressClass::kUniqueLocal);
  EXPECT_EQ(classify(*parse_ip("240.0.0.1")), AddressClass::kReserved);
  EXPECT_EQ(classify(*parse_ip("255.255.255.255")), AddressClass::kReserved);
  // Documentation and benchmarking ranges pass the address gate (fake-IP
  // DNS and registry mirrors use them); private ones never do.
  EXPECT_EQ(classify(*parse_ip("203.0.113.80")), AddressClass::kSpecialPurpose);
  EXPECT_TRUE(is_public(*parse_ip("198.18.0.7")));
  EXPECT_FALSE(is_public(*parse_ip("240.0.0.1")));
  EXPECT_FALSE(is_public(*parse_ip("::ffff:127.0.0.1")));
  EXPECT_EQ(classify(*parse_ip_lenient("2130706433")), AddressClass::kLoopback);
  EXPECT_FALSE(parse_ip("fe80::1%eth0").has_value());
  EXPECT_FALSE(parse_ip("1.2.3").has_value());
  auto c = parse_cidr("172.16.0.0/12");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->contains(*parse_ip("172.31.255.255")));
  EXPECT_FALSE(c->contains(*parse_ip("172.32.0.0")));
  EXPECT_TRUE(parse_cidr("0.0.0.0/0")->contains(*parse_ip("1.2.3.4")));
  EXPECT_FALSE(parse_cidr("0.0.0.0/0")->contains(*parse_ip("2001::1")));
  EXPECT_TRUE(parse_cidr("2001:db8::/32")->contains(*parse_ip("2001:db8:ffff::1")));
}

}  // namespace
}  // namespace sbx::net
