// Egress escapes from a real guest. The VM has no network card; what leaves
// goes through sandboxd, which must refuse: IP literals without a CIDR rule,
// the host's loopback (by address, by a name that resolves to it, through the
// proxy or transparently), and anything that is not TCP. A loopback server on
// the host counts every connection it gets: it must get none.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/fd.h"
#include "base/strings.h"
#include "harness/harness.h"
#include "harness/apt_mirror.h"

namespace sbx::testing {
namespace {

/// Counts connections on 127.0.0.1:port until destroyed.
class CountingServer {
 public:
  CountingServer() {
    fd_ = Fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(fd_.get(), 16) != 0)
      return;
    socklen_t len = sizeof a;
    ::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    th_ = std::thread([this] {
      while (!stop_) {
        pollfd p{fd_.get(), POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        int c = ::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) continue;
        ++accepted_;
        const char resp[] = "HTTP/1.0 200 OK\r\n\r\nhost secret\n";
        (void)!::write(c, resp, sizeof resp - 1);
        ::close(c);
      }
    });
  }
  ~CountingServer() {
    stop_ = true;
    if (th_.joinable()) th_.join();
  }
  uint16_t port() const { return port_; }
  int accepted() const { return accepted_; }

 private:
  Fd fd_;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread th_;
};

class EgressEscape : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    env_ = new SbxEnv();
    auto r = sbx({"create", "--name", "esc", "--memory", "768m", "shell",
                  env_->make_workspace("esc-ws")});
    ok_ = r.code == 0;
    if (!ok_) fprintf(stderr, "%s\n", r.all().c_str());
  }
  static void TearDownTestSuite() { delete env_; }
  void SetUp() override { ASSERT_TRUE(ok_); }
  static CmdResult guest(const std::string& script) {
    return sbx({"exec", "-u", "root", "esc", "--", "sh", "-c", script});
  }
  static inline SbxEnv* env_ = nullptr;
  static inline bool ok_ = false;
};

TEST_F(EgressEscape, HostLoopbackIsUnreachableByAddressNameOrProxy) {
  CountingServer server;
  ASSERT_NE(server.port(), 0);
  std::string p = std::to_string(server.port());
  // Through the forward proxy, by address and by a name resolving to it.
  for (std::string url : {"http://127.0.0.1:" + p + "/", "http://localhost:" + p + "/"}) {
    auto r = guest("curl -s -m 20 --noproxy '' -x http://127.0.0.1:3128 -w '\\n%{http_code}' " +
                   url);
    EXPECT_NE(r.out.find("403"), std::string::npos) << url << ": " << r.all();
    EXPECT_EQ(r.out.find("host secret"), std::string::npos) << url << ": " << r.all();
  }
  // A CONNECT tunnel to it.
  auto tunnel = guest("curl -s -m 20 -p -x http://127.0.0.1:3128 http://127.0.0.1:" + p + "/");
  EXPECT_NE(tunnel.code, 0) << tunnel.all();
  EXPECT_EQ(tunnel.out.find("host secret"), std::string::npos) << tunnel.all();
  // Even an explicit allow for the name does not vouch for a loopback address.
  ASSERT_EQ(sbx({"policy", "allow", "network", "localhost:" + p}).code, 0);
  auto named = guest("curl -s -m 20 --noproxy '' -x http://127.0.0.1:3128 -w '\\n%{http_code}' "
                     "http://localhost:" + p + "/");
  EXPECT_NE(named.out.find("403"), std::string::npos) << named.all();
  EXPECT_NE(named.out.find("loopback"), std::string::npos) << named.all();
  // Bypassing the proxy: 127.0.0.1 in the guest is the guest's own loopback.
  auto direct = guest("curl -s -m 20 --noproxy '*' http://127.0.0.1:" + p + "/");
  EXPECT_NE(direct.code, 0) << direct.all();
  EXPECT_EQ(server.accepted(), 0) << "a guest reached a service on the host's loopback";
  auto log = sbx({"policy", "log", "esc", "--json", "--blocked"});
  EXPECT_NE(log.out.find("localhost"), std::string::npos) << log.all();
}

TEST_F(EgressEscape, IpLiteralsNeedACidrRule) {
  std::string ip = host_apt_mirror_ipv4();
  ASSERT_FALSE(ip.empty()) << "cannot resolve the host's apt mirror";
  // A process that ignores the proxy variables is intercepted transparently:
  // the proxy reads its Host header and refuses with a 403 of its own.
  auto raw = guest("curl -s -m 20 --noproxy '*' -w '\\n%{http_code}' http://" + ip + "/");
  EXPECT_NE(raw.out.find("403"), std::string::npos) << raw.all();
  EXPECT_NE(raw.out.find("Destination: " + ip), std::string::npos) << raw.all();
  // The mirror's name is allowed, but a domain rule never vouches for an address.
  EXPECT_EQ(raw.out.find("preset balanced"), std::string::npos) << raw.all();
  // Through the proxy: the same.
  auto proxied = guest("curl -s -m 20 -w '\\n%{http_code}' http://" + ip + "/");
  EXPECT_NE(proxied.out.find("403"), std::string::npos) << proxied.all();
  auto log = sbx({"policy", "log", "esc", "--json"});
  auto j = nlohmann::json::parse(log.out, nullptr, false);
  ASSERT_TRUE(j.is_array()) << log.all();
  bool transparent_denied = false;
  for (auto& e : j)
    if (e.value("host", "") == ip && e.value("kind", "") == "transparent" &&
        e.value("verdict", "") == "deny")
      transparent_denied = true;
  EXPECT_TRUE(transparent_denied) << log.out;
}

TEST_F(EgressEscape, NoRouteOfItsOwnAndNothingButTcpLeaves) {
  // No network device backed by hardware: only lo and virtual interfaces.
  auto devs = guest("for d in /sys/class/net/*; do [ -e $d/device ] && echo NIC $d; done; true");
  ASSERT_EQ(devs.code, 0) << devs.all();
  EXPECT_EQ(devs.out.find("NIC"), std::string::npos) << devs.out;
  // UDP other than DNS does not leave: no route takes it anywhere.
  auto udp = guest(
      "python3 -c \"import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
      "s.settimeout(3); s.sendto(b'ping', ('9.9.9.9', 123)); print(s.recv(512))\"");
  EXPECT_NE(udp.code, 0) << "a UDP answer came back: " << udp.all();
  // DNS sent straight to a public resolver is answered by sbx's stub, by
  // policy: a name balanced does not allow gets NXDOMAIN (rcode 3).
  auto dns = guest(
      "python3 -c \"import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
      "s.settimeout(10); s.sendto(b'\\x12\\x34\\x01\\x00\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00"
      "\\x0bnot-allowed\\x07example\\x00\\x00\\x01\\x00\\x01', ('9.9.9.9', 53)); "
      "print(s.recv(512)[3] & 15)\"");
  EXPECT_EQ(trim(dns.out), "3") << dns.all();
  // Non-HTTP TCP (ssh's port) needs a host:port rule. The guest resolves
  // the mirror through the stub, then connects to its address on port 22:
  // the connection is decided (and logged) as that name, and balanced
  // allows the mirror on 80 and 443 only.
  std::string mirror = host_apt_mirror();
  ASSERT_FALSE(mirror.empty());
  auto ssh = guest("ip=$(getent ahostsv4 " + mirror + " | awk 'NR==1{print $1}'); echo ip=$ip; "
                   "curl -s -m 20 --noproxy '*' telnet://$ip:22 </dev/null");
  EXPECT_NE(ssh.out.find("ip=") , std::string::npos) << ssh.all();
  EXPECT_EQ(ssh.out.find("ip=\n"), std::string::npos) << "the mirror did not resolve: " << ssh.all();
  EXPECT_EQ(ssh.out.find("SSH-"), std::string::npos) << ssh.all();
  auto check = sbx({"policy", "check", "network", mirror + ":22", "--sandbox", "esc"});
  EXPECT_EQ(check.code, 1) << check.all();
  auto log = sbx({"policy", "log", "esc", "--json"});
  auto j = nlohmann::json::parse(log.out, nullptr, false);
  ASSERT_TRUE(j.is_array()) << log.all();
  bool denied22 = false;
  for (auto& e : j)
    if (e.value("host", "") == mirror && e.value("port", 0) == 22 &&
        e.value("verdict", "") == "deny" && e.value("kind", "") == "transparent")
      denied22 = true;
  EXPECT_TRUE(denied22) << "no transparent deny of " << mirror << ":22 in " << log.out;
}

}  // namespace
}  // namespace sbx::testing
