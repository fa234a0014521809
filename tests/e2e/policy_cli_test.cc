// sbx policy: rules persist in sandboxd, decisions name the rule, bad input
// is refused, sandbox-scoped rules apply to their sandbox only. (Egress
// itself is not routed yet; these are the decisions it will use.)
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "harness/harness.h"

namespace sbx::testing {
namespace {

TEST(PolicyCli, RulesDecisionsAndPersistence) {
  SbxEnv env;
  // Balanced default: AI APIs and code hosts allowed, the rest denied.
  auto gh = sbx({"policy", "check", "network", "github.com"});
  EXPECT_EQ(gh.code, 0) << gh.all();
  EXPECT_NE(gh.out.find("allow github.com"), std::string::npos) << gh.out;
  auto other = sbx({"policy", "check", "network", "example.org"});
  EXPECT_EQ(other.code, 1) << other.all();
  EXPECT_NE(other.out.find("sbx policy allow network example.org"), std::string::npos) << other.out;
  // No SSRF into the host: loopback and private ranges need an IP rule.
  EXPECT_EQ(sbx({"policy", "check", "network", "127.0.0.1:8080"}).code, 1);
  EXPECT_EQ(sbx({"policy", "check", "network", "192.168.1.10"}).code, 1);

  auto add = sbx({"policy", "allow", "network", "example.org,*.example.net,git.example.net:22"});
  ASSERT_EQ(add.code, 0) << add.all();
  EXPECT_EQ(sbx({"policy", "check", "network", "EXAMPLE.org."}).code, 0);  // case, trailing dot
  EXPECT_EQ(sbx({"policy", "check", "network", "a.example.net"}).code, 0);
  EXPECT_EQ(sbx({"policy", "check", "network", "example.net"}).code, 1);  // *.x does not match x
  EXPECT_EQ(sbx({"policy", "check", "network", "git.example.net:22"}).code, 0);
  EXPECT_EQ(sbx({"policy", "check", "network", "other.example.com:22"}).code, 1);
  // Deny beats allow, and the verdict names the rule.
  ASSERT_EQ(sbx({"policy", "deny", "network", "bad.example.net"}).code, 0);
  auto bad = sbx({"policy", "check", "network", "bad.example.net"});
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.out.find("deny bad.example.net"), std::string::npos) << bad.out;

  // Malformed input is refused and changes nothing.
  auto before = sbx({"policy", "ls", "--json"});
  auto malformed = sbx({"policy", "allow", "network", "ok.example,bad host"});
  EXPECT_EQ(malformed.code, 125);
  EXPECT_NE(malformed.err.find("invalid rule"), std::string::npos) << malformed.err;
  EXPECT_EQ(sbx({"policy", "ls", "--json"}).out, before.out);
  EXPECT_NE(sbx({"policy", "init", "mostly-open"}).code, 0);
  EXPECT_NE(sbx({"policy", "rm", "network", "--id", "99999"}).code, 0);

  // Rules live in sandboxd's state: they survive a daemon restart.
  ASSERT_EQ(sbx({"daemon", "stop"}).code, 0);
  auto ls = sbx({"policy", "ls", "--json"});
  auto j = nlohmann::json::parse(ls.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << ls.all();
  EXPECT_EQ(j["preset"], "balanced");
  EXPECT_EQ(j["rules"].size(), 4u);

  ASSERT_EQ(sbx({"policy", "init", "deny-all"}).code, 0);
  EXPECT_EQ(sbx({"policy", "check", "network", "github.com"}).code, 1);
  EXPECT_EQ(sbx({"policy", "check", "network", "example.org"}).code,
            0);  // explicit rule still wins
  ASSERT_EQ(sbx({"policy", "rm", "network", "--resource", "example.org"}).code, 0);
  EXPECT_EQ(sbx({"policy", "check", "network", "example.org"}).code, 1);
  ASSERT_EQ(sbx({"policy", "reset", "-f"}).code, 0);
  auto after = nlohmann::json::parse(sbx({"policy", "ls", "--json"}).out, nullptr, false);
  EXPECT_EQ(after["preset"], "balanced");
  EXPECT_TRUE(after["rules"].empty());
}

TEST(PolicyCli, SandboxScopedRulesApplyToTheirSandboxOnly) {
  SbxEnv env;
  auto unknown = sbx({"policy", "allow", "network", "--sandbox", "ghost", "x.example"});
  EXPECT_NE(unknown.code, 0);
  EXPECT_NE(unknown.err.find("'ghost' not found"), std::string::npos) << unknown.all();
  std::string ws = env.make_workspace("pol-ws");
  auto c = sbx({"create", "--name", "pol", "--memory", "512m", "shell", ws});
  ASSERT_EQ(c.code, 0) << c.all();
  // A second sandbox, so "only its sandbox" has another one to leave out.
  std::string ws2 = env.make_workspace("pol2-ws");
  auto c2 = sbx({"create", "--name", "pol2", "--memory", "512m", "shell", ws2});
  ASSERT_EQ(c2.code, 0) << c2.all();
  ASSERT_EQ(sbx({"policy", "allow", "network", "--sandbox", "pol", "only-pol.example"}).code, 0);
  auto mine = sbx({"policy", "check", "network", "--sandbox", "pol", "only-pol.example"});
  EXPECT_EQ(mine.code, 0) << mine.all();
  EXPECT_NE(mine.out.find("allow only-pol.example"), std::string::npos) << mine.out;
  auto theirs = sbx({"policy", "check", "network", "--sandbox", "pol2", "only-pol.example"});
  EXPECT_EQ(theirs.code, 1) << "a rule scoped to 'pol' decided for 'pol2': " << theirs.all();
  EXPECT_EQ(theirs.out.find("allow only-pol.example"), std::string::npos) << theirs.out;
  EXPECT_EQ(sbx({"policy", "check", "network", "only-pol.example"}).code, 1);
  // The other way round: a rule scoped to pol2 does not reach pol.
  ASSERT_EQ(sbx({"policy", "allow", "network", "--sandbox", "pol2", "only-pol2.example"}).code, 0);
  EXPECT_EQ(sbx({"policy", "check", "network", "--sandbox", "pol2", "only-pol2.example"}).code, 0);
  EXPECT_EQ(sbx({"policy", "check", "network", "--sandbox", "pol", "only-pol2.example"}).code, 1);
  ASSERT_EQ(
      sbx({"policy", "rm", "network", "--sandbox", "pol2", "--resource", "only-pol2.example"}).code,
      0);
  auto ls = nlohmann::json::parse(sbx({"policy", "ls", "--json"}).out, nullptr, false);
  ASSERT_EQ(ls["rules"].size(), 1u);
  EXPECT_EQ(ls["rules"][0]["scope"], "pol");
  // A sandbox's rules go with it: a new sandbox of the same name starts clean.
  ASSERT_EQ(sbx({"rm", "-f", "pol"}).code, 0);
  auto after = nlohmann::json::parse(sbx({"policy", "ls", "--json"}).out, nullptr, false);
  EXPECT_TRUE(after["rules"].empty()) << after.dump();
}

}  // namespace
}  // namespace sbx::testing
