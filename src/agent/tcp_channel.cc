#include "agent/tcp_channel.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "agent/tcp_address.h"

namespace sbx::agent {

using proto::FrameType;

namespace {

/// How long a connect may take before OPEN_FAIL (a SYN to a filtered port
/// would otherwise hang for the kernel's ~2 minutes).
constexpr auto kConnectTimeout = std::chrono::seconds(10);
/// How long the host may take to answer a guest OPEN (it may be resolving
/// and connecting upstream) before the channel is closed.
constexpr auto kEgressOpenTimeout = std::chrono::seconds(30);

ssize_t send_nosignal(int fd, const void* data, size_t len) {
  return ::send(fd, data, len, MSG_NOSIGNAL);
}

}  // namespace

TcpChannel::TcpChannel(uint32_t id, ChannelContext& ctx, Fd sock, std::string label, bool egress,
                       Clock::time_point deadline)
    : Channel(id, ctx),
      sock_(std::move(sock)),
      label_(std::move(label)),
      egress_(egress),
      deadline_(deadline) {}

std::unique_ptr<TcpChannel> TcpChannel::connect(uint32_t id, const proto::TcpConnectRequest& req,
                                                ChannelContext& ctx) {
  auto fail = [&](const std::string& msg) {
    ctx.open_fail(id, 125, msg);
    return nullptr;
  };
  std::string label = endpoint_label(req.host, req.port);
  auto addr = resolve_literal(req.host, req.port);
  if (!addr) return fail("connect " + label + ": " + addr.error().message);
  int s = socket(addr->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s < 0) return fail("connect " + label + ": socket: " + strerror(errno));
  std::unique_ptr<TcpChannel> c(
      new TcpChannel(id, ctx, Fd(s), label, false, Clock::now() + kConnectTimeout));
  int one = 1;
  // Interactive protocols (HTTP request/response) through published ports
  // should not wait on Nagle.
  (void)setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  int rc;
  do {
    rc = ::connect(s, reinterpret_cast<const sockaddr*>(&addr->addr), addr->len);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0 && errno != EINPROGRESS) return fail("connect " + label + ": " + strerror(errno));
  // Loopback connects usually complete at once; otherwise POLLOUT tells.
  if (rc == 0) c->check_connected();
  return c;
}

std::unique_ptr<TcpChannel> TcpChannel::egress(uint32_t id, Fd sock, const proto::EgressOpen& req,
                                               std::string label, ChannelContext& ctx) {
  int one = 1;
  (void)setsockopt(sock.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  // Until OPEN_OK the socket is not read (the app's early bytes wait in it).
  std::unique_ptr<TcpChannel> c(new TcpChannel(id, ctx, std::move(sock), std::move(label), true,
                                               Clock::now() + kEgressOpenTimeout));
  ctx.out.send(id, FrameType::kOpen, proto::to_json(req));
  return c;
}

void TcpChannel::check_connected() {
  int soerr = 0;
  socklen_t len = sizeof soerr;
  if (getsockopt(sock_.get(), SOL_SOCKET, SO_ERROR, &soerr, &len) < 0) soerr = errno;
  if (soerr == 0) {
    // SO_ERROR can be 0 while the connect is still in flight (spurious
    // wake-up); getpeername distinguishes.
    sockaddr_storage peer;
    socklen_t plen = sizeof peer;
    if (getpeername(sock_.get(), reinterpret_cast<sockaddr*>(&peer), &plen) < 0) {
      if (errno == ENOTCONN) return;  // keep waiting for POLLOUT
      soerr = errno;
    }
  }
  if (soerr == EINPROGRESS || soerr == EALREADY) return;
  if (soerr != 0) {
    ctx_.open_fail(id(), 125, "connect " + label_ + ": " + strerror(soerr));
    mark_closed();
    return;
  }
  connecting_ = false;
  send(FrameType::kOpenOk, "{}");
  // The host may have pipelined DATA/EOF after its OPEN.
  if (flow_.has_input() || flow_.input_eof()) write_socket();
}

void TcpChannel::on_open_reply(bool ok) {
  // A late answer for a channel we already closed (deadline, guest gone)
  // never gets here; our CLOSE tells the host.
  if (!egress_ || !connecting_) return;
  if (!ok) {
    // The host refused (policy, upstream unreachable) and has forgotten the
    // channel: closing the socket is the whole answer the guest app gets.
    mark_closed();
    return;
  }
  connecting_ = false;
  // The host may have pipelined DATA/EOF right after its OPEN_OK.
  if (flow_.has_input() || flow_.input_eof()) write_socket();
}

int TcpChannel::check_deadline(Clock::time_point now) {
  if (!connecting_) return -1;
  if (now >= deadline_ && egress_) {
    // CLOSE tells the host to forget it; its late OPEN_OK is ignored.
    close_with(label_ + ": no answer from the host; closing");
    return -1;
  }
  if (now >= deadline_) {
    ctx_.open_fail(id(), 125, "connect " + label_ + ": " + strerror(ETIMEDOUT));
    mark_closed();
    return -1;
  }
  return static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - now).count() + 1);
}

void TcpChannel::on_eof() {
  flow_.set_input_eof();
  if (!connecting_) write_socket();
}

void TcpChannel::write_input() {
  if (!connecting_) write_socket();
}

void TcpChannel::add_poll_fds(PollSet& set, bool link_has_room) {
  short ev = 0;
  if (connecting_) {
    // Egress: nothing to do until the host's OPEN_OK (the guest app's
    // early bytes wait in its socket).
    if (!egress_) ev = POLLOUT;
  } else {
    if (link_has_room && flow_.send_credit() > 0 && !rd_eof_) ev |= POLLIN;
    if (flow_.has_input() && !wr_shut_) ev |= POLLOUT;
  }
  if (ev) set.add(id(), sock_.get(), ev, 0);
}

void TcpChannel::on_ready(int /*slot*/, short events, short revents) {
  if (connecting_) {
    check_connected();
    return;
  }
  if (revents & (POLLIN | POLLHUP | POLLERR) && (events & POLLIN)) read_socket();
  if (!closed() && (revents & (POLLOUT | POLLERR | POLLHUP)) && (events & POLLOUT)) write_socket();
}

void TcpChannel::read_socket() {
  if (rd_eof_ || flow_.send_credit() == 0) return;
  ssize_t n = read_to_host(sock_.get(), FrameType::kData);
  if (n > 0) return;
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
  if (n < 0) return close_with("read: " + std::string(strerror(errno)));
  rd_eof_ = true;
  send(FrameType::kEof, "");
}

void TcpChannel::write_socket() {
  WriteOutcome w = flow_.write_input(sock_.get(), send_nosignal);
  if (w.failed)
    return close_with("write: " + std::string(w.error ? strerror(w.error) : "no progress"));
  credit_back(w.written);
  if (flow_.input_eof() && !flow_.has_input() && !wr_shut_) {
    (void)shutdown(sock_.get(), SHUT_WR);
    wr_shut_ = true;
  }
}

void TcpChannel::finish_if_done() {
  if (!closed() && rd_eof_ && wr_shut_) close_with("");
}

}  // namespace sbx::agent
