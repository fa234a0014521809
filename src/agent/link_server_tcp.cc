// LinkServer's TCP channels (published ports): OPEN {"kind":"tcp"} connects
// inside the guest without blocking the loop; bytes are relayed with the
// same credit rules as exec stdin/stdout. See docs/protocol.md.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "agent/link_server.h"
#include "agent/tcp_address.h"

namespace sbx::agent {

using proto::Frame;
using proto::FrameType;
using Clock = std::chrono::steady_clock;

namespace {

/// How long a connect may take before OPEN_FAIL (a SYN to a filtered port
/// would otherwise hang for the kernel's ~2 minutes).
constexpr auto kConnectTimeout = std::chrono::seconds(10);

}  // namespace

void LinkServer::open_tcp(const Frame& f) {
  auto fail = [&](const std::string& msg) {
    console_.log("open channel " + std::to_string(f.channel) + ": " + msg);
    send(f.channel, FrameType::kOpenFail, proto::to_json(proto::OpenFailure{msg, 125}));
  };
  auto req = proto::parse_tcp_connect(f.payload);
  if (!req) return fail(req.error().message);
  std::string label = endpoint_label(req->host, req->port);
  auto addr = resolve_literal(req->host, req->port);
  if (!addr) return fail("connect " + label + ": " + addr.error().message);
  int s = socket(addr->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s < 0) return fail("connect " + label + ": socket: " + strerror(errno));
  TcpChannel c;
  c.id = f.channel;
  c.sock = Fd(s);
  c.label = label;
  c.connect_deadline = Clock::now() + kConnectTimeout;
  int one = 1;
  // Interactive protocols (HTTP request/response) through published ports
  // should not wait on Nagle.
  (void)setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  int rc;
  do {
    rc = connect(s, reinterpret_cast<const sockaddr*>(&addr->addr), addr->len);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0 && errno != EINPROGRESS)
    return fail("connect " + label + ": " + strerror(errno));
  auto [it, inserted] = tcp_.emplace(f.channel, std::move(c));
  // Loopback connects usually complete at once; otherwise POLLOUT tells.
  if (rc == 0) tcp_connected(it->second);
}

void LinkServer::tcp_connected(TcpChannel& c) {
  int soerr = 0;
  socklen_t len = sizeof soerr;
  if (getsockopt(c.sock.get(), SOL_SOCKET, SO_ERROR, &soerr, &len) < 0) soerr = errno;
  if (soerr == 0) {
    // SO_ERROR can be 0 while the connect is still in flight (spurious
    // wake-up); getpeername distinguishes.
    sockaddr_storage peer;
    socklen_t plen = sizeof peer;
    if (getpeername(c.sock.get(), reinterpret_cast<sockaddr*>(&peer), &plen) < 0) {
      if (errno == ENOTCONN) return;  // keep waiting for POLLOUT
      soerr = errno;
    }
  }
  if (soerr == EINPROGRESS || soerr == EALREADY) return;
  uint32_t id = c.id;
  if (soerr != 0) {
    std::string msg = "connect " + c.label + ": " + strerror(soerr);
    console_.log("open channel " + std::to_string(id) + ": " + msg);
    send(id, FrameType::kOpenFail, proto::to_json(proto::OpenFailure{msg, 125}));
    tcp_.erase(id);
    return;
  }
  c.connecting = false;
  send(id, FrameType::kOpenOk, "{}");
  // The host may have pipelined DATA/EOF after its OPEN.
  if (!c.in_buf.empty() || c.in_eof) tcp_write(c);
}

int LinkServer::tcp_check_deadlines() {
  auto now = Clock::now();
  int next = -1;
  for (auto it = tcp_.begin(); it != tcp_.end();) {
    TcpChannel& c = it->second;
    if (!c.connecting) {
      ++it;
      continue;
    }
    if (now >= c.connect_deadline && c.egress) {
      // CLOSE tells the host to forget it; its late OPEN_OK is ignored.
      console_.log("channel " + std::to_string(c.id) + ": " + c.label +
                   ": no answer from the host; closing");
      send(c.id, FrameType::kClose, "");
      it = tcp_.erase(it);
      continue;
    }
    if (now >= c.connect_deadline) {
      std::string msg = "connect " + c.label + ": " + strerror(ETIMEDOUT);
      console_.log("open channel " + std::to_string(c.id) + ": " + msg);
      send(c.id, FrameType::kOpenFail, proto::to_json(proto::OpenFailure{msg, 125}));
      it = tcp_.erase(it);
      continue;
    }
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(c.connect_deadline - now)
                  .count() + 1;
    if (next < 0 || ms < next) next = static_cast<int>(ms);
    ++it;
  }
  return next;
}

void LinkServer::tcp_frame(TcpChannel& c, const Frame& f) {
  uint32_t id = c.id;
  switch (f.type) {
    case FrameType::kData: {
      uint64_t n = f.payload.size();
      if (n == 0) return;
      if (c.in_outstanding + n > proto::kInitialWindow)
        return tcp_close(id, "host sent " + std::to_string(n) +
                                 " bytes beyond its credit; closing the channel");
      c.in_outstanding += n;
      if (c.in_eof || c.wr_shut) {
        credit_back_raw(id, c.in_outstanding, n);  // after EOF: dropped
        return;
      }
      c.in_buf.append(f.payload);
      if (!c.connecting) tcp_write(c);
      break;
    }
    case FrameType::kWindow: {
      auto n = proto::decode_u32(f.payload);
      if (!n) {
        console_.log("channel " + std::to_string(id) + ": bad WINDOW: " + n.error().message);
        return;
      }
      c.out_credit = std::min<uint64_t>(c.out_credit + *n, uint64_t{1} << 40);
      break;
    }
    case FrameType::kEof:
      c.in_eof = true;
      if (!c.connecting) tcp_write(c);
      break;
    case FrameType::kClose:
      // The host is done with it: no reply, no lingering.
      tcp_.erase(id);
      return;
    default:
      return;  // RESIZE, SIGNAL: meaningless on a socket
  }
  tcp_maybe_finish(id);
}

void LinkServer::tcp_read(TcpChannel& c) {
  if (c.rd_eof || c.out_credit == 0) return;
  size_t max = static_cast<size_t>(std::min<uint64_t>(read_buf_.size(), c.out_credit));
  ssize_t n;
  do {
    n = recv(c.sock.get(), read_buf_.data(), max, 0);
  } while (n < 0 && errno == EINTR);
  if (n > 0) {
    c.out_credit -= static_cast<uint64_t>(n);
    send(c.id, FrameType::kData, std::string_view(read_buf_.data(), static_cast<size_t>(n)));
    return;
  }
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
  if (n < 0) return tcp_close(c.id, "read: " + std::string(strerror(errno)));
  c.rd_eof = true;
  send(c.id, FrameType::kEof, "");
}

void LinkServer::tcp_write(TcpChannel& c) {
  uint64_t written = 0;
  while (!c.in_buf.empty()) {
    ssize_t n = ::send(c.sock.get(), c.in_buf.data(), c.in_buf.size(), MSG_NOSIGNAL);
    if (n > 0) {
      written += static_cast<uint64_t>(n);
      c.in_buf.erase(0, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    return tcp_close(c.id, "write: " + std::string(n < 0 ? strerror(errno) : "no progress"));
  }
  credit_back_raw(c.id, c.in_outstanding, written);
  if (c.in_eof && c.in_buf.empty() && !c.wr_shut) {
    (void)shutdown(c.sock.get(), SHUT_WR);
    c.wr_shut = true;
  }
}

void LinkServer::tcp_close(uint32_t id, const std::string& why) {
  if (!why.empty()) console_.log("channel " + std::to_string(id) + ": " + why);
  send(id, FrameType::kClose, "");
  tcp_.erase(id);
}

void LinkServer::tcp_maybe_finish(uint32_t id) {
  auto it = tcp_.find(id);
  if (it == tcp_.end() || !it->second.done()) return;
  tcp_close(id, "");
}

}  // namespace sbx::agent
