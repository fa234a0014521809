// The pure parts of egress: proxy settings, the gitconfig block, the
// iptables rules text, and the listeners' binding.
#include "agent/egress.h"

#include <gtest/gtest.h>

#include "agent/guest_network.h"
#include "base/files.h"

namespace sbx::agent {
namespace {

TEST(Egress, ProxyEnvSetsBothCasesAndNoProxy) {
  auto env = proxy_env("http://127.0.0.1:3128");
  std::vector<std::string> want = {
      "HTTP_PROXY=http://127.0.0.1:3128", "HTTPS_PROXY=http://127.0.0.1:3128",
      "http_proxy=http://127.0.0.1:3128", "https_proxy=http://127.0.0.1:3128",
      "NO_PROXY=localhost,127.0.0.1,::1", "no_proxy=localhost,127.0.0.1,::1"};
  EXPECT_EQ(env, want);
  EXPECT_TRUE(proxy_env("").empty());
}

TEST(Egress, GitconfigBlockIsAddedOnceAndOtherContentKept) {
  std::string user = "[user]\n\tname = A\n[core]\n\teditor = vim\n";
  std::string once = gitconfig_with_proxy(user, "http://127.0.0.1:3128");
  EXPECT_EQ(once.rfind(user, 0), 0u) << once;
  EXPECT_NE(once.find("[http]\n\tproxy = http://127.0.0.1:3128\n"), std::string::npos);
  // Rewriting with another URL replaces the block instead of adding one.
  std::string twice = gitconfig_with_proxy(once + "[alias]\n\tst = status\n", "http://x:1");
  EXPECT_EQ(twice.find("3128"), std::string::npos) << twice;
  EXPECT_NE(twice.find("proxy = http://x:1"), std::string::npos);
  EXPECT_NE(twice.find("[alias]\n\tst = status\n"), std::string::npos);
  EXPECT_EQ(twice.find("[http]"), twice.rfind("[http]"));
  EXPECT_EQ(twice.rfind(user, 0), 0u);
  // From nothing: just the block.
  EXPECT_EQ(gitconfig_with_proxy("", "http://x:1").rfind("# BEGIN sbx", 0), 0u);
}

TEST(Egress, ProxyFilesAreWrittenUnderRoot) {
  auto d = TempDir::create("sbx-egress-test");
  ASSERT_TRUE(d.ok());
  const std::string r = d->path();
  ASSERT_TRUE(make_dirs(r + "/etc"));
  ASSERT_TRUE(write_file_atomic(r + "/etc/gitconfig", "[user]\n\tname = keep\n"));
  Console console;
  write_proxy_files(console, "http://127.0.0.1:3128", r);
  auto apt = read_file(r + "/etc/apt/apt.conf.d/90sbx-proxy");
  ASSERT_TRUE(apt);
  EXPECT_NE(apt->find("Acquire::http::Proxy \"http://127.0.0.1:3128\";"), std::string::npos);
  EXPECT_NE(apt->find("Acquire::https::Proxy \"http://127.0.0.1:3128\";"), std::string::npos);
  auto pip = read_file(r + "/etc/pip.conf");
  ASSERT_TRUE(pip);
  EXPECT_NE(pip->find("[global]\nproxy = http://127.0.0.1:3128\n"), std::string::npos);
  auto git = read_file(r + "/etc/gitconfig");
  ASSERT_TRUE(git);
  EXPECT_NE(git->find("name = keep"), std::string::npos);
  EXPECT_NE(git->find("proxy = http://127.0.0.1:3128"), std::string::npos);
  auto npm = read_file(r + "/etc/npmrc");
  ASSERT_TRUE(npm);
  EXPECT_NE(npm->find("\nproxy=http://127.0.0.1:3128\n"), std::string::npos);
  EXPECT_NE(npm->find("\nhttps-proxy=http://127.0.0.1:3128\n"), std::string::npos);
  auto sh = read_file(r + "/etc/profile.d/sbx-proxy.sh");
  ASSERT_TRUE(sh);
  EXPECT_NE(sh->find("export https_proxy=http://127.0.0.1:3128\n"), std::string::npos);
  write_resolv_conf(console, r);
  auto rc = read_file(r + "/etc/resolv.conf");
  ASSERT_TRUE(rc);
  EXPECT_NE(rc->find("nameserver 127.0.0.1\n"), std::string::npos);
}

TEST(Egress, ListenersBindEphemeralPortsAndReportThem) {
  Console console;
  EgressConfig c;
  c.proxy = "127.0.0.1:0";
  c.dns = "127.0.0.1:0";
  c.transparent = "not-an-address:1";
  c.redirect = true;
  auto s = open_egress(c, console);
  ASSERT_TRUE(s.proxy.valid());
  EXPECT_EQ(s.proxy_addr.rfind("127.0.0.1:", 0), 0u);
  EXPECT_NE(s.proxy_addr, "127.0.0.1:0");
  EXPECT_EQ(s.proxy_url(), "http://" + s.proxy_addr);
  EXPECT_TRUE(s.dns.valid());
  // A bad spec disables that listener only, and without it no redirect.
  EXPECT_FALSE(s.transparent.valid());
  EXPECT_FALSE(s.redirect);
  EXPECT_TRUE(open_egress(EgressConfig{}, console).proxy_url().empty());
}

TEST(GuestNetwork, RulesRedirectPublicTcpAndDnsAndRejectTheRest) {
  std::string r = egress_rules(3129, 53);
  for (const char* want : {
           "*nat\n", "-A PREROUTING -j SBX-EGRESS\n", "-A OUTPUT -j SBX-EGRESS\n",
           "-A SBX-EGRESS -d 127.0.0.0/8 -j RETURN\n",
           "-A SBX-EGRESS -m addrtype --dst-type LOCAL -j RETURN\n",
           "-A SBX-EGRESS -d 10.0.0.0/8 -j RETURN\n", "-A SBX-EGRESS -d 172.16.0.0/12 -j RETURN\n",
           "-A SBX-EGRESS -d 192.168.0.0/16 -j RETURN\n",
           "-A SBX-EGRESS -p tcp -j REDIRECT --to-ports 3129\n",
           "-A SBX-EGRESS -p udp -m udp --dport 53 -j REDIRECT --to-ports 53\n", "*filter\n",
           "-A OUTPUT -o sbx0 -j SBX-REJECT\n", "-A FORWARD -o sbx0 -j SBX-REJECT\n",
           "-A DOCKER-USER -o sbx0 -j SBX-REJECT\n",
           "-A SBX-REJECT -m conntrack --ctstate DNAT -j RETURN\n",
           "-A SBX-REJECT -p tcp -j REJECT --reject-with tcp-reset\n",

           "-A SBX-REJECT -j REJECT --reject-with icmp-port-unreachable\n"})
    EXPECT_NE(r.find(want), std::string::npos) << want;
  // Every exclusion comes before the REDIRECTs that it protects.
  EXPECT_LT(r.find("192.168.0.0/16"), r.find("REDIRECT"));
  EXPECT_LT(r.find("--dst-type LOCAL"), r.find("REDIRECT"));
  // Redirected flows are let through before anything is rejected.
  EXPECT_LT(r.find("--ctstate DNAT"), r.find("-j REJECT"));
  // Two tables, each committed.
  EXPECT_EQ(r.find("COMMIT\n*filter"), r.find("COMMIT"));
  EXPECT_NE(r.rfind("COMMIT\n"), r.find("COMMIT\n"));
  EXPECT_NE(egress_rules(4000, 5353).find("--to-ports 4000\n"), std::string::npos);
}

}  // namespace
}  // namespace sbx::agent
