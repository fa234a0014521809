#include "agent/egress_connection.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
// After <netinet/in.h>: the kernel header then skips its own in.h types.
#include <linux/netfilter_ipv4.h>

#include <cerrno>
#include <cstring>

namespace sbx::agent {

std::optional<Fd> accept_pending(const Fd& listener, const Console& console) {
  for (;;) {
    int s = accept4(listener.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (s >= 0) return Fd(s);
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK)
      console.log(std::string("egress: accept: ") + strerror(errno));
    return std::nullopt;
  }
}

std::optional<EgressConnection> describe_egress(Fd sock, bool transparent) {
  EgressConnection c;
  c.label = "egress forward";
  if (transparent) {
    sockaddr_in orig{}, local{};
    socklen_t olen = sizeof orig, llen = sizeof local;
    if (getsockopt(sock.get(), SOL_IP, SO_ORIGINAL_DST, &orig, &olen) < 0 ||
        getsockname(sock.get(), reinterpret_cast<sockaddr*>(&local), &llen) < 0 ||
        orig.sin_family != AF_INET)
      return std::nullopt;  // not a redirected connection (no conntrack entry)
    // A direct connection to the listener has itself as "original"
    // destination; relaying it would only loop back here.
    if (orig.sin_addr.s_addr == local.sin_addr.s_addr && orig.sin_port == local.sin_port)
      return std::nullopt;
    char ip[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &orig.sin_addr, ip, sizeof ip);
    c.request.mode = "transparent";
    c.request.ip = ip;
    c.request.port = ntohs(orig.sin_port);
    c.label = "egress " + c.request.ip + ":" + std::to_string(c.request.port);
  }
  c.sock = std::move(sock);
  return c;
}

}  // namespace sbx::agent
