// Egress from a real guest: every connection leaves through sandboxd's proxy
// and is decided by the user's policy. Under the default 'balanced' policy the
// Debian archive the host's apt uses is reachable (apt-get update works); a
// deny rule for it takes effect at once and the proxy's 403 names the rule;
// DNS follows the policy; `sbx policy check` agrees with what happened; and
// the network log holds one entry per decision.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "base/child_process.h"
#include "base/fd.h"
#include "base/strings.h"
#include "harness/apt_mirror.h"
#include "harness/sandbox_suite.h"

namespace sbx::testing {
namespace {

class EgressTest : public SandboxSuite<EgressTest> {
 public:
  static SandboxOptions options() { return {.name = "net", .workspace = "egress-ws"}; }

 protected:
  static void SetUpTestSuite() {
    SandboxSuite::SetUpTestSuite();
    mirror_ = host_apt_mirror();
  }
  void SetUp() override {
    SandboxSuite::SetUp();
    ASSERT_FALSE(mirror_.empty()) << "the host's apt has no Debian source to test with";
  }

  /// The log entries of sandbox `net` for `host`, oldest first.
  static std::vector<nlohmann::json> log_for(const std::string& host) {
    auto r = sbx({"policy", "log", "net", "--json", "--limit", "10000"});
    EXPECT_EQ(r.code, 0) << r.all();
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    EXPECT_TRUE(j.is_array()) << r.out;
    std::vector<nlohmann::json> out;
    if (!j.is_array()) return out;
    for (auto& e : j)
      if (e.value("host", "") == host) out.insert(out.begin(), e);
    return out;
  }

  static inline std::string mirror_;
};

TEST_F(EgressTest, AptUpdateWorksUnderBalancedAndStopsAtADenyRule) {
  auto check = sbx({"policy", "check", "network", mirror_ + ":80", "--sandbox", "net"});
  EXPECT_EQ(check.code, 0) << "balanced should allow the host's apt mirror: " << check.all();

  auto upd = guest("apt-get update 2>&1");
  ASSERT_EQ(upd.code, 0) << upd.all();
  auto allowed = log_for(mirror_);
  ASSERT_FALSE(allowed.empty()) << "apt's connections were not logged";
  EXPECT_EQ(allowed.back().value("verdict", ""), "allow") << allowed.back().dump();
  EXPECT_GT(allowed.back().value("bytes_down", 0), 0) << allowed.back().dump();

  ASSERT_EQ(sbx({"policy", "deny", "network", mirror_}).code, 0);
  auto denied_check = sbx({"policy", "check", "network", mirror_ + ":80", "--sandbox", "net"});
  EXPECT_EQ(denied_check.code, 1) << denied_check.all();
  EXPECT_NE(denied_check.out.find("deny " + mirror_), std::string::npos) << denied_check.out;

  // The running sandbox sees the new rule at once.
  auto upd2 = guest("apt-get update 2>&1");
  EXPECT_NE(upd2.code, 0) << upd2.all();
  EXPECT_NE(upd2.out.find("403"), std::string::npos) << upd2.all();
  // The 403's body names the rule and the command that would allow it.
  auto body = guest("curl -s http://" + mirror_ + "/");
  EXPECT_NE(body.out.find("deny " + mirror_), std::string::npos) << body.all();
  EXPECT_NE(body.out.find("sbx policy allow network " + mirror_), std::string::npos) << body.all();
  auto last = log_for(mirror_);
  ASSERT_FALSE(last.empty());
  EXPECT_EQ(last.back().value("verdict", ""), "deny") << last.back().dump();

  ASSERT_EQ(sbx({"policy", "rm", "network", "--resource", mirror_}).code, 0);
  EXPECT_EQ(sbx({"policy", "check", "network", mirror_ + ":80"}).code, 0);
}

TEST_F(EgressTest, DnsFollowsThePolicy) {
  auto ok = guest("getent ahostsv4 " + mirror_);
  EXPECT_EQ(ok.code, 0) << "an allowed name should resolve: " << ok.all();
  auto bad = guest("getent ahostsv4 blocked-name.example.org");
  EXPECT_NE(bad.code, 0) << bad.all();
  EXPECT_EQ(trim(bad.out), "") << bad.all();
  auto entries = log_for("blocked-name.example.org");
  ASSERT_FALSE(entries.empty()) << "the DNS decision was not logged";
  EXPECT_EQ(entries.back().value("kind", ""), "dns");
  EXPECT_EQ(entries.back().value("verdict", ""), "deny");
}

TEST_F(EgressTest, CheckAgreesAndTheLogHoldsOneEntryPerDecision) {
  // Three connections through the proxy, each to a host of its own.
  for (std::string h : {"one.blocked.example", "two.blocked.example", "three.blocked.example"}) {
    auto r = guest("curl -s -o /dev/null -w '%{http_code}' http://" + h + "/x");
    EXPECT_EQ(trim(r.out), "403") << h << ": " << r.all();
    auto check = sbx({"policy", "check", "network", h + ":80", "--sandbox", "net"});
    EXPECT_EQ(check.code, 1) << check.all();
    auto entries = log_for(h);
    ASSERT_EQ(entries.size(), 1u) << h;
    EXPECT_EQ(entries[0].value("kind", ""), "forward") << entries[0].dump();
    EXPECT_EQ(entries[0].value("verdict", ""), "deny");
    EXPECT_EQ(entries[0].value("port", 0), 80);
    EXPECT_EQ(entries[0].value("method", ""), "GET");
    EXPECT_EQ(entries[0].value("path", ""), "/x");
    // What `check` names is what the proxy applied.
    EXPECT_NE(check.out.find(entries[0].value("rule", "?")), std::string::npos)
        << check.out << " vs " << entries[0].dump();
  }
  // --blocked lists only denials.
  auto blocked = sbx({"policy", "log", "net", "--json", "--blocked"});
  ASSERT_EQ(blocked.code, 0) << blocked.all();
  auto j = nlohmann::json::parse(blocked.out, nullptr, false);
  ASSERT_TRUE(j.is_array());
  for (auto& e : j) EXPECT_EQ(e.value("verdict", ""), "deny") << e.dump();
  auto table = sbx({"policy", "log", "net"});
  ASSERT_EQ(table.code, 0);
  EXPECT_NE(table.out.find("three.blocked.example"), std::string::npos) << table.out;
}

TEST_F(EgressTest, FollowStreamsDecisionsAsTheyHappen) {
  // `sbx policy log -f --json` is the live event stream (the API the TUI
  // uses): a decision made after it started shows up on it.
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  Fd rd(p[0]), wr(p[1]);
  SpawnOptions o;
  o.argv = {sbx_cli_path(), "policy", "log", "net", "-f", "--json"};
  o.stdout_fd = wr.get();
  auto child = ChildProcess::spawn(o);
  ASSERT_TRUE(child) << child.error().message;
  wr.reset();
  std::string seen;
  // Until the stream is certainly open, each try makes a new decision.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (seen.find("live.blocked.example") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    (void)guest("curl -s -o /dev/null http://live.blocked.example/");
    pollfd pf{rd.get(), POLLIN, 0};
    while (::poll(&pf, 1, 1000) > 0) {
      char buf[4096];
      ssize_t n = ::read(rd.get(), buf, sizeof buf);
      if (n <= 0) break;
      seen.append(buf, static_cast<size_t>(n));
      if (seen.find("live.blocked.example") != std::string::npos) break;
    }
  }
  (void)child->kill(SIGTERM);
  auto line_start = seen.find("{\"");
  ASSERT_NE(line_start, std::string::npos) << "nothing streamed: " << seen;
  auto e = nlohmann::json::parse(seen.substr(line_start, seen.find('\n', line_start) - line_start),
                                 nullptr, false);
  ASSERT_TRUE(e.is_object()) << seen;
  EXPECT_EQ(e.value("sandbox", ""), "net");
  EXPECT_NE(seen.find("\"verdict\":\"deny\""), std::string::npos) << seen;
}

TEST_F(EgressTest, ProxyVariablesAndToolConfigurationAreSet) {
  auto env = sbx({"exec", "net", "--", "sh", "-c", "echo $HTTPS_PROXY $http_proxy $NO_PROXY"});
  ASSERT_EQ(env.code, 0) << env.all();
  EXPECT_NE(env.out.find("http://127.0.0.1:3128"), std::string::npos) << env.out;
  EXPECT_NE(env.out.find("localhost"), std::string::npos) << env.out;
  auto files = guest(
      "cat /etc/apt/apt.conf.d/90sbx-proxy /etc/pip.conf /etc/npmrc && "
      "git config --system http.proxy");
  ASSERT_EQ(files.code, 0) << files.all();
  EXPECT_NE(files.out.find("Acquire::http::Proxy"), std::string::npos) << files.out;
  EXPECT_NE(files.out.find("proxy"), std::string::npos) << files.out;
  // Each tool's own view of its configuration, as the sandbox's user, names
  // the agent's forward proxy listener. Where a tool is not in the template
  // its file is read the way the tool reads it (an ini section for pip,
  // key=value for npm), and the report says so.
  const std::string kListener = "http://127.0.0.1:3128";
  auto views =
      sbx({"exec", "net", "--", "sh", "-c",
           "echo git=$(git config --get http.proxy); "
           "if python3 -m pip --version >/dev/null 2>&1; then "
           "  echo pip_via=pip; echo pip=$(python3 -m pip config get global.proxy); "
           "else echo pip_via=file; echo pip=$(python3 -c \"import configparser; "
           "c=configparser.ConfigParser(); c.read('/etc/pip.conf'); "
           "print(c.get('global', 'proxy', fallback=''))\"); fi; "
           "if command -v npm >/dev/null; then "
           "  echo npm_via=npm; echo npm=$(npm config get proxy); "
           "  echo npm_https=$(npm config get https-proxy); "
           "else echo npm_via=file; "
           "  echo npm=$(sed -n 's/^proxy=//p' /etc/npmrc); "
           "  echo npm_https=$(sed -n 's/^https-proxy=//p' /etc/npmrc); fi; "
           // The listener itself: 127.0.0.1:3128 (0100007F:0C38) in LISTEN (0A).
           "grep -q ' 0100007F:0C38 00000000:0000 0A ' /proc/net/tcp && echo listening=yes"});
  ASSERT_EQ(views.code, 0) << views.all();
  for (const char* key : {"git", "pip", "npm", "npm_https"}) {
    std::string want = std::string("\n") + key + "=" + kListener + "\n";
    EXPECT_NE(("\n" + views.out).find(want), std::string::npos)
        << key << " does not use the agent's proxy: " << views.out;
  }
  EXPECT_NE(views.out.find("listening=yes"), std::string::npos)
      << "nothing listens on the proxy address the tools are given: " << views.out;
}

TEST_F(EgressTest, DenyNetworkSandboxReachesNothing) {
  auto c = sbx({"create", "--name", "offline", "--memory", "768m", "--deny-network", "shell",
                env().make_workspace("offline-ws")});
  ASSERT_EQ(c.code, 0) << c.all();
  auto r = guest("curl -s -w '\\n%{http_code}' http://" + mirror_ + "/", "offline");
  EXPECT_NE(r.out.find("403"), std::string::npos) << r.all();
  EXPECT_NE(r.out.find("deny-network"), std::string::npos) << r.all();
  auto dns = guest("getent ahostsv4 " + mirror_, "offline");
  EXPECT_NE(dns.code, 0) << dns.all();
  auto inspect = sbx({"inspect", "offline", "--json"});
  auto ij = nlohmann::json::parse(inspect.out, nullptr, false);
  ASSERT_TRUE(ij.is_object()) << inspect.all();
  EXPECT_EQ(ij.value("deny_network", false), true) << inspect.out;
  // The other sandbox is unaffected.
  EXPECT_EQ(guest("getent ahostsv4 " + mirror_).code, 0);
  EXPECT_EQ(sbx({"rm", "-f", "offline"}).code, 0);
}

}  // namespace
}  // namespace sbx::testing
