#include "daemon/port_publisher.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "daemon/guest_stream.h"

namespace sbx::daemon {

using namespace std::chrono_literals;

namespace {

Result<Fd> bind_tcp(const std::string& ip, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  if (inet_pton(AF_INET, ip.c_str(), &a.sin_addr) != 1)
    return err(kBadRequest, "invalid host IP '" + ip + "'");
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return errno_error("socket");
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    int e = errno;
    std::string where = ip + ":" + std::to_string(port);
    if (e == EADDRINUSE)
      return err(
          kConflict,
          "host port " + where +
              " is already in use; pick another, e.g. "
              "--publish OTHER_PORT:SANDBOX_PORT, or leave the host port out to get a free one");
    if (e == EACCES)
      return err(
          kBadRequest,
          "host port " + std::to_string(port) +
              " is privileged (below 1024) and sandboxd is not root; use a port of 1024 or more");
    if (e == EADDRNOTAVAIL)
      return err(kBadRequest, "host IP " + ip + " is not an address of this machine");
    return errno_error("bind " + where, e);
  }
  if (::listen(fd.get(), 128) != 0) return errno_error("listen");
  return fd;
}

}  // namespace

Result<std::unique_ptr<PortPublisher>> PortPublisher::bind(const proto::PortMapping& m,
                                                           Logger& log) {
  if (m.proto != "tcp") return err(kBadRequest, "only tcp ports can be published");
  if (m.sandbox_port == 0) return err(kBadRequest, "the sandbox port is missing");
  proto::PortMapping bound = m;
  if (bound.host_ip.empty()) bound.host_ip = "127.0.0.1";
  if (m.host_port != 0) {
    if (m.host_port < 1024 && ::geteuid() != 0)
      return err(
          kBadRequest,
          "host port " + std::to_string(m.host_port) +
              " is privileged (below 1024) and sandboxd is not root; use a port of 1024 or more");
    auto fd = bind_tcp(bound.host_ip, m.host_port);
    if (!fd) return fd.error();
    return std::unique_ptr<PortPublisher>(new PortPublisher(std::move(*fd), bound, log));
  }
  for (uint32_t p = kFirstEphemeralPort; p <= 65535; ++p) {
    auto fd = bind_tcp(bound.host_ip, static_cast<uint16_t>(p));
    if (fd) {
      bound.host_port = static_cast<uint16_t>(p);
      return std::unique_ptr<PortPublisher>(new PortPublisher(std::move(*fd), bound, log));
    }
    if (fd.error().code != kConflict) return fd.error();
  }
  return err(kConflict,
             "no free host port from " + std::to_string(kFirstEphemeralPort) + " upwards");
}

PortPublisher::~PortPublisher() {
  stopping_ = true;
  ::shutdown(listener_.get(), SHUT_RDWR);
  if (acceptor_.joinable()) acceptor_.join();
  std::unique_lock l(mu_);
  // Under mu_: a relay unregisters (under mu_) before it is destroyed.
  for (net::Relay* r : relays_) r->cancel();
  // Connections still opening their guest end see stopping_ and give up.
  idle_.wait(l, [&] { return active_ == 0; });
}

void PortPublisher::serve(std::shared_ptr<AgentLink> link) {
  link_ = std::move(link);
  acceptor_ = std::thread([this] { accept_loop(); });
}

void PortPublisher::accept_loop() {
  while (!stopping_) {
    pollfd p{listener_.get(), POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    int c = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    Fd client(c);
    int one = 1;
    ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::lock_guard l(mu_);
    ++active_;
    std::thread([this, client = std::move(client)]() mutable {
      serve_connection(std::move(client));
      std::lock_guard g(mu_);
      --active_;
      idle_.notify_all();
    }).detach();
  }
}

void PortPublisher::serve_connection(Fd client) {
  std::string where =
      std::to_string(mapping_.host_port) + "->" + std::to_string(mapping_.sandbox_port);
  auto ch = link_->open_tcp(proto::TcpConnectRequest{"127.0.0.1", mapping_.sandbox_port}, 15s);
  if (!ch) {
    log_.info("port " + where + ": " + ch.error().message);
    return;  // closing the client tells it nothing listens there
  }
  net::FdStream host(std::move(client));
  GuestStream guest(std::move(*ch));  // aborts the channel when dropped
  net::Relay relay(host, guest, proto::kDataChunk);
  {
    std::lock_guard l(mu_);
    if (stopping_) return;
    relays_.insert(&relay);
  }
  (void)relay.run();
  std::lock_guard l(mu_);
  relays_.erase(&relay);
}

}  // namespace sbx::daemon
