#include "agent/guest_network.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
// After <net/if.h>/<netinet/in.h>: the kernel headers then skip their copies.
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <cerrno>
#include <cstring>

#include "base/child_process.h"
#include "base/files.h"
#include "base/strings.h"

namespace sbx::agent {

namespace {

constexpr const char* kRulesPath = "/run/sbx-egress.rules";
constexpr const char* kRulesLog = "/run/sbx-egress.log";

/// One rtnetlink request under construction: header, fixed part, attributes.
class NlRequest {
 public:
  NlRequest(uint16_t type, uint16_t flags, const void* body, size_t body_len) {
    buf_.resize(NLMSG_LENGTH(body_len));
    auto* h = header();
    h->nlmsg_type = type;
    h->nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | NLM_F_ACK | flags);
    h->nlmsg_seq = 1;
    memcpy(NLMSG_DATA(h), body, body_len);
    h->nlmsg_len = static_cast<uint32_t>(buf_.size());
  }
  void attr(uint16_t type, const void* data, size_t len) {
    size_t at = NLMSG_ALIGN(buf_.size());
    buf_.resize(at + RTA_ALIGN(RTA_LENGTH(len)));
    auto* a = reinterpret_cast<rtattr*>(buf_.data() + at);
    a->rta_type = type;
    a->rta_len = static_cast<uint16_t>(RTA_LENGTH(len));
    if (len) memcpy(RTA_DATA(a), data, len);
    header()->nlmsg_len = static_cast<uint32_t>(buf_.size());
  }
  void attr_str(uint16_t type, const std::string& s) { attr(type, s.c_str(), s.size() + 1); }
  /// Opens a nested attribute; returns its offset for end_nest().
  size_t begin_nest(uint16_t type) {
    size_t at = NLMSG_ALIGN(buf_.size());
    attr(type, nullptr, 0);
    return at;
  }
  void end_nest(size_t at) {
    reinterpret_cast<rtattr*>(buf_.data() + at)->rta_len =
        static_cast<uint16_t>(buf_.size() - at);
  }
  /// Sends the request and waits for the kernel's ACK. A kernel refusal's
  /// errno is the error's code.
  Result<void> run(const std::string& what) {
    Fd s(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
    if (!s.valid()) return errno_error(what + ": netlink socket");
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (sendto(s.get(), buf_.data(), buf_.size(), 0, reinterpret_cast<sockaddr*>(&kernel),
               sizeof kernel) < 0)
      return errno_error(what + ": netlink send");
    char reply[4096];
    ssize_t n = recv(s.get(), reply, sizeof reply, 0);
    if (n < 0) return errno_error(what + ": netlink recv");
    auto* h = reinterpret_cast<nlmsghdr*>(reply);
    if (!NLMSG_OK(h, static_cast<unsigned>(n)) || h->nlmsg_type != NLMSG_ERROR)
      return err(what + ": unexpected netlink reply");
    int e = -reinterpret_cast<nlmsgerr*>(NLMSG_DATA(h))->error;
    if (e == 0) return ok();
    Error x = errno_error(what, e);
    x.code = e;  // callers tolerate some (EEXIST)
    return x;
  }

 private:
  nlmsghdr* header() { return reinterpret_cast<nlmsghdr*>(buf_.data()); }
  std::string buf_;
};

Result<int> if_index(const char* name) {
  unsigned idx = if_nametoindex(name);
  if (idx == 0) return errno_error(std::string("interface ") + name);
  return static_cast<int>(idx);
}

in_addr egress_addr() {
  in_addr a{};
  inet_pton(AF_INET, kEgressIfAddr, &a);
  return a;
}

}  // namespace

Result<void> write_sysctl(const std::string& path, const std::string& value) {
  // Not write_file_atomic: /proc/sys has no temporary files to rename.
  Fd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return errno_error("open " + path);
  return write_all(fd.get(), value);
}

std::string egress_rules(uint16_t transparent_port, uint16_t dns_port) {
  const std::string tp = std::to_string(transparent_port);
  const std::string dp = std::to_string(dns_port);
  const std::string dev = kEgressIfName;
  // Exclusions first: loopback and local addresses (published ports,
  // docker-proxy), and the private ranges where the private dockerd's
  // container networks live (container-to-container traffic is bridged
  // through PREROUTING when br_netfilter is loaded).
  return "# sbx-agent: guest egress interception (see docs/design.md)\n"
         "*nat\n"
         ":PREROUTING ACCEPT [0:0]\n"
         ":INPUT ACCEPT [0:0]\n"
         ":OUTPUT ACCEPT [0:0]\n"
         ":POSTROUTING ACCEPT [0:0]\n"
         ":SBX-EGRESS - [0:0]\n"
         "-A PREROUTING -j SBX-EGRESS\n"
         "-A OUTPUT -j SBX-EGRESS\n"
         "-A SBX-EGRESS -d 127.0.0.0/8 -j RETURN\n"
         "-A SBX-EGRESS -m addrtype --dst-type LOCAL -j RETURN\n"
         "-A SBX-EGRESS -d 10.0.0.0/8 -j RETURN\n"
         "-A SBX-EGRESS -d 172.16.0.0/12 -j RETURN\n"
         "-A SBX-EGRESS -d 192.168.0.0/16 -j RETURN\n"
         "-A SBX-EGRESS -p tcp -j REDIRECT --to-ports " + tp + "\n"
         "-A SBX-EGRESS -p udp -m udp --dport 53 -j REDIRECT --to-ports " + dp + "\n"
         "COMMIT\n"
         "*filter\n"
         ":INPUT ACCEPT [0:0]\n"
         ":FORWARD ACCEPT [0:0]\n"
         ":OUTPUT ACCEPT [0:0]\n"
         ":SBX-REJECT - [0:0]\n"
         ":DOCKER-USER - [0:0]\n"
         "-A OUTPUT -o " + dev + " -j SBX-REJECT\n"
         "-A FORWARD -o " + dev + " -j SBX-REJECT\n"
         // dockerd puts DOCKER-USER first in FORWARD and keeps its rules;
         // its own ACCEPTs for container traffic would otherwise come first.
         "-A DOCKER-USER -o " + dev + " -j SBX-REJECT\n"
         // The hook's output device is fixed before nat OUTPUT runs, so a
         // connection REDIRECTed to the agent still shows "-o sbx0" here:
         // let redirected flows through (measured in a VM: without this
         // every redirected SYN was reset).
         "-A SBX-REJECT -m conntrack --ctstate DNAT -j RETURN\n"
         "-A SBX-REJECT -p tcp -j REJECT --reject-with tcp-reset\n"
         "-A SBX-REJECT -j REJECT --reject-with icmp-port-unreachable\n"
         "COMMIT\n";
}

Result<void> create_egress_interface() {
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  NlRequest link(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof ifi);
  link.attr_str(IFLA_IFNAME, kEgressIfName);
  size_t info = link.begin_nest(IFLA_LINKINFO);
  link.attr_str(IFLA_INFO_KIND, "dummy");
  link.end_nest(info);
  if (auto r = link.run(std::string("create ") + kEgressIfName + " (dummy)");
      !r && r.error().code != EEXIST)
    return r;
  auto idx = if_index(kEgressIfName);
  if (!idx) return idx.error();
  // Before it goes up: no IPv6 link-local address or fe80::/64 route on
  // sbx0, so the guest keeps having no IPv6 route at all.
  (void)write_sysctl(std::string("/proc/sys/net/ipv6/conf/") + kEgressIfName + "/disable_ipv6",
                      "1\n");

  ifaddrmsg ifa{};
  ifa.ifa_family = AF_INET;
  ifa.ifa_prefixlen = 32;
  ifa.ifa_scope = RT_SCOPE_UNIVERSE;
  ifa.ifa_index = static_cast<unsigned>(*idx);
  NlRequest addr(RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, &ifa, sizeof ifa);
  in_addr a = egress_addr();
  addr.attr(IFA_LOCAL, &a, sizeof a);
  addr.attr(IFA_ADDRESS, &a, sizeof a);
  if (auto r = addr.run(std::string("address ") + kEgressIfAddr + "/32 on " + kEgressIfName); !r)
    return r;

  Fd s(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s.valid()) return errno_error("socket");
  ifreq ifr{};
  strncpy(ifr.ifr_name, kEgressIfName, IFNAMSIZ - 1);
  if (ioctl(s.get(), SIOCGIFFLAGS, &ifr) < 0) return errno_error(std::string(kEgressIfName));
  ifr.ifr_flags |= IFF_UP;
  if (ioctl(s.get(), SIOCSIFFLAGS, &ifr) < 0) return errno_error(std::string(kEgressIfName) + " up");
  return ok();
}

Result<void> add_egress_default_route() {
  auto idx = if_index(kEgressIfName);
  if (!idx) return idx.error();
  rtmsg rt{};
  rt.rtm_family = AF_INET;
  rt.rtm_dst_len = 0;
  rt.rtm_table = RT_TABLE_MAIN;
  rt.rtm_protocol = RTPROT_BOOT;
  rt.rtm_scope = RT_SCOPE_LINK;
  rt.rtm_type = RTN_UNICAST;
  NlRequest route(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, &rt, sizeof rt);
  uint32_t oif = static_cast<uint32_t>(*idx);
  route.attr(RTA_OIF, &oif, sizeof oif);
  in_addr src = egress_addr();
  route.attr(RTA_PREFSRC, &src, sizeof src);
  return route.run(std::string("default route via ") + kEgressIfName);
}

Result<void> run_iptables_restore(const std::string& rules) {
  std::string tool;
  for (const char* p : {"/usr/sbin/iptables-restore", "/sbin/iptables-restore"})
    if (access(p, X_OK) == 0) {
      tool = p;
      break;
    }
  if (tool.empty()) return err("no iptables-restore in this template");
  // Kept in /run for inspection; the child reads it as stdin.
  if (auto r = write_file_atomic(kRulesPath, rules, 0644); !r) return r;
  Fd in(open(kRulesPath, O_RDONLY | O_CLOEXEC));
  Fd log(open(kRulesLog, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!in.valid() || !log.valid()) return errno_error("iptables-restore: open");
  SpawnOptions o;
  o.argv = {tool};
  o.env = std::vector<std::string>{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
  o.stdin_fd = in.get();
  o.stdout_fd = log.get();
  o.stderr_fd = log.get();
  auto child = ChildProcess::spawn(o);
  if (!child) return child.error().wrap(tool);
  auto st = child->wait_for(std::chrono::seconds(10));
  if (!st) return st.error();
  if (!*st) {
    (void)child->kill(SIGKILL);
    return err(tool + " did not finish within 10 s");
  }
  if ((*st)->exited && (*st)->code == 0) return ok();
  auto out = read_file(kRulesLog);
  return err(tool + " failed (" + (*st)->describe() + "): " + trim(out ? *out : ""));
}

bool setup_egress_network(const Console& console, uint16_t transparent_port,
                          uint16_t dns_port) {
  if (auto r = create_egress_interface(); !r) {
    console.log("egress: " + r.error().message + "; no default route");
    return false;
  }
  if (auto r = run_iptables_restore(egress_rules(transparent_port, dns_port)); !r) {
    // Without the REDIRECT rules a route would let connects hang or leak
    // into the dummy: leave the guest without one (still nothing leaves).
    console.log("EGRESS INTERCEPTION NOT INSTALLED: " + r.error().message +
                "; no default route (only the HTTP proxy works)");
    return false;
  }
  if (auto r = add_egress_default_route(); !r) {
    console.log("egress: " + r.error().message);
    return false;
  }
  console.log(std::string("egress: ") + kEgressIfName + " " + kEgressIfAddr +
              "/32, default route, iptables interception installed");
  return true;
}

}  // namespace sbx::agent
