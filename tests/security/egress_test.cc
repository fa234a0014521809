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

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <iterator>
#include <nlohmann/json.hpp>

#include "base/fd.h"
#include "base/strings.h"
#include "harness/apt_mirror.h"
#include "harness/sandbox_suite.h"
#include "support/loopback_server.h"

namespace sbx::testing {
namespace {

/// A UDP socket on 127.0.0.1:<ephemeral> that counts the datagrams it gets.
class UdpCounter {
 public:
  UdpCounter() {
    fd_ = Fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (!fd_.valid() || ::bind(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      fd_.reset();
      return;
    }
    port_ = ntohs(a.sin_port);
  }
  bool ok() const { return fd_.valid(); }
  uint16_t port() const { return port_; }
  /// Sends one datagram to the receiver from the host; returns how many to expect.
  int send_to_self() const {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port_);
    Fd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    return ::sendto(s.get(), "x", 1, 0, reinterpret_cast<sockaddr*>(&a), sizeof a) == 1 ? 1 : 0;
  }
  /// Datagrams received until `want` came or `limit` passed (a negative
  /// check has to wait out its limit).
  int count_within(std::chrono::milliseconds limit, int want = -1) {
    int n = 0;
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (n != want) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd_.get(), POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[2048];
      if (::recv(fd_.get(), buf, sizeof buf, MSG_DONTWAIT) >= 0) ++n;
    }
    return n;
  }

 private:
  Fd fd_;
  uint16_t port_ = 0;
};

class EgressEscape : public SandboxSuite<EgressEscape> {
 public:
  static SandboxOptions options() {
    return {.name = "esc", .workspace = "esc-ws", .create_flags = {"--memory", "768m"}};
  }
};

TEST_F(EgressEscape, HostLoopbackIsUnreachableByAddressNameOrProxy) {
  // Counts every connection it gets; answers as a host service would.
  LoopbackServer server([](int c) { (void)write_all(c, "HTTP/1.0 200 OK\r\n\r\nhost secret\n"); });
  ASSERT_TRUE(server.ok());
  std::string p = std::to_string(server.port());
  // Through the forward proxy, by address and by a name resolving to it.
  for (std::string url : {"http://127.0.0.1:" + p + "/", "http://localhost:" + p + "/"}) {
    auto r =
        guest("curl -s -m 20 --noproxy '' -x http://127.0.0.1:3128 -w '\\n%{http_code}' " + url);
    EXPECT_NE(r.out.find("403"), std::string::npos) << url << ": " << r.all();
    EXPECT_EQ(r.out.find("host secret"), std::string::npos) << url << ": " << r.all();
  }
  // A CONNECT tunnel to it.
  auto tunnel = guest("curl -s -m 20 -p -x http://127.0.0.1:3128 http://127.0.0.1:" + p + "/");
  EXPECT_NE(tunnel.code, 0) << tunnel.all();
  EXPECT_EQ(tunnel.out.find("host secret"), std::string::npos) << tunnel.all();
  // Even an explicit allow for the name does not vouch for a loopback address.
  ASSERT_EQ(sbx({"policy", "allow", "network", "localhost:" + p}).code, 0);
  auto named = guest(
      "curl -s -m 20 --noproxy '' -x http://127.0.0.1:3128 -w '\\n%{http_code}' "
      "http://localhost:" +
      p + "/");
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
  // And a leak would be seen: a receiver on the host's loopback counts every
  // datagram. The guest sends to it at addresses a relay that forwarded UDP
  // would map to the host (QEMU's and docker's gateways, link-local
  // metadata, a public address); the guest's own REJECT rule must have
  // stopped each one, and the receiver must have got none.
  UdpCounter receiver;
  ASSERT_TRUE(receiver.ok());
  ASSERT_EQ(receiver.count_within(std::chrono::seconds(5), receiver.send_to_self()), 1)
      << "the receiver does not count what reaches it";
  const std::string port = std::to_string(receiver.port());
  const int kEach = 5;
  const char* outward[] = {"10.0.2.2",    "10.0.2.3",        "172.17.0.1",
                           "192.168.1.1", "169.254.169.254", "9.9.9.9"};
  std::string dests;
  for (auto* d : outward) dests += std::string(dests.empty() ? "" : ",") + "'" + d + "'";
  auto leak = guest(
      "rejected() { iptables -vnxL SBX-REJECT | awk '/icmp-port-unreachable/{print $1}'; }; "
      "tx() { cat /sys/class/net/sbx0/statistics/tx_packets; }; "
      "echo rejected_before=$(rejected) tx_before=$(tx); "
      "python3 -c \"\nimport socket\nsent = failed = 0\n"
      "for d in [" +
      dests +
      ", '127.0.0.1']:\n"
      "  for i in range(" +
      std::to_string(kEach) +
      "):\n"
      "    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
      "    try:\n      s.sendto(b'leak', (d, " +
      port +
      ")); sent += 1\n"
      "    except OSError:\n      failed += 1\n"
      "    s.close()\nprint('attempts=%d' % (sent + failed))\n\"; "
      "echo rejected_after=$(rejected) tx_after=$(tx)");
  ASSERT_EQ(leak.code, 0) << leak.all();
  auto field = [&](const std::string& key) {
    auto at = leak.out.find(key + "=");
    if (at == std::string::npos) return -1L;
    const char* v = leak.out.c_str() + at + key.size() + 1;
    return std::isdigit(static_cast<unsigned char>(*v)) ? std::atol(v) : -1L;
  };
  const long n_out = kEach * static_cast<long>(std::size(outward));
  EXPECT_EQ(field("attempts"), n_out + kEach) << leak.all();
  ASSERT_GE(field("rejected_before"), 0) << "no REJECT rule for non-TCP on sbx0: " << leak.all();
  // Every datagram bound outward went out through sbx0 and hit the REJECT.
  EXPECT_GE(field("rejected_after") - field("rejected_before"), n_out) << leak.all();
  // None reached the wire of sbx0 (a dummy, but the one way out).
  EXPECT_EQ(field("tx_after"), field("tx_before")) << leak.all();
  EXPECT_EQ(receiver.count_within(std::chrono::seconds(3)), 0)
      << "a UDP datagram from the guest reached the host's loopback";
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
  auto ssh = guest("ip=$(getent ahostsv4 " + mirror +
                   " | awk 'NR==1{print $1}'); echo ip=$ip; "
                   "curl -s -m 20 --noproxy '*' telnet://$ip:22 </dev/null");
  EXPECT_NE(ssh.out.find("ip="), std::string::npos) << ssh.all();
  EXPECT_EQ(ssh.out.find("ip=\n"), std::string::npos)
      << "the mirror did not resolve: " << ssh.all();
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
