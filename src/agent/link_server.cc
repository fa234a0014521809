#include "agent/link_server.h"

#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "agent/docker_supervisor.h"
#include "agent/session_kill.h"
#include "agent/system_info.h"

namespace sbx::agent {

using proto::Frame;
using proto::FrameType;
using nlohmann::json;

namespace {

/// Stop reading the link itself past this (only small replies are unbounded
/// by credit: ACKs, WINDOWs, control replies).
constexpr size_t kOutHardCap = 8u << 20;
/// Credit above this is clamped (a hostile WINDOW flood cannot overflow).
constexpr uint64_t kMaxCredit = uint64_t{1} << 40;
/// More concurrent channels than this are refused.
constexpr size_t kMaxChannels = 1024;
/// While no host is connected, look at the port this often.
constexpr int kHangupPollMs = 100;

enum Which {
  kStdin = 0,
  kStdout = 1,
  kStderr = 2,
  kPty = 3,
  kTcp = 4,
  kEgressProxy = 5,
  kEgressTransparent = 6,
  kDnsStub = 7,
};

}  // namespace

LinkServer::LinkServer(Fd link, const Console& console, LinkOptions opts)
    : link_(std::move(link)),
      console_(console),
      opts_(std::move(opts)),
      spawner_(opts_.spawner),
      read_buf_(proto::kDataChunk) {}

LinkServer::~LinkServer() { drop_all_channels(); }

void LinkServer::send(uint32_t channel, FrameType type, std::string_view payload) {
  proto::encode_into(out_, channel, type, payload);
}

Result<LinkExit> LinkServer::run() {
  // SIGCHLD arrives through a signalfd, so the loop has no handler and no
  // global flag. SIGPIPE is ignored: a child closing its stdin must be an
  // EPIPE on our write, not our death.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  if (sigprocmask(SIG_BLOCK, &mask, nullptr) < 0) return errno_error("sigprocmask");
  int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sfd < 0) return errno_error("signalfd");
  sigfd_ = Fd(sfd);
  struct sigaction ign {};
  ign.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ign, nullptr);
  if (auto r = set_nonblocking(link_.get(), true); !r) return r.error();
  if (auto r = set_cloexec(link_.get(), true); !r) return r.error();
  // Children may have exited before the signalfd existed.
  reap_children();

  std::vector<pollfd> pfds;
  std::vector<std::pair<uint32_t, int>> tags;  // channel id, Which
  for (;;) {
    if (eof_) return LinkExit::kEof;
    if (shutting_down_ && (pending_out() == 0 || hangup_ ||
                           std::chrono::steady_clock::now() >= shutdown_deadline_))
      return LinkExit::kShutdown;

    // Expired connects are failed before the poll set is built, so no
    // closed socket ends up in it.
    const int tcp_timeout = tcp_check_deadlines();
    pfds.clear();
    tags.clear();
    pfds.push_back({sigfd_.get(), POLLIN, 0});
    // A hung-up port reports POLLHUP whatever we ask for, so it is left out
    // of the set entirely (no busy loop) and re-checked on a timer.
    short link_ev = 0;
    if (!hangup_) {
      if (pending_out() < kOutHardCap) link_ev |= POLLIN;
      if (pending_out() > 0) link_ev |= POLLOUT;
    }
    pfds.push_back({link_ev ? link_.get() : -1, link_ev, 0});
    // The supervisor's fds (listening socket, readiness probe) come next;
    // channel fds follow from chan_base on.
    if (opts_.docker) opts_.docker->add_poll_fds(pfds);
    const size_t chan_base = pfds.size();
    bool room = pending_out() < kOutHighWater;
    for (auto& [id, c] : channels_) {
      auto add = [&](const Fd& fd, short ev, int which) {
        if (!ev || !fd.valid()) return;
        pfds.push_back({fd.get(), ev, 0});
        tags.emplace_back(id, which);
      };
      bool can_read = room && c.out_credit > 0;
      if (c.tty) {
        short ev = 0;
        if (can_read && !c.pty_eof) ev |= POLLIN;
        if (!c.in_buf.empty() && !c.pty_hup) ev |= POLLOUT;
        add(c.pty, ev, kPty);
      } else {
        if (can_read) {
          add(c.stdout_fd, POLLIN, kStdout);
          add(c.stderr_fd, POLLIN, kStderr);
        }
        if (!c.in_buf.empty()) add(c.stdin_fd, POLLOUT, kStdin);
      }
    }
    for (auto& [id, c] : tcp_) {
      short ev = 0;
      if (c.connecting) {
        // Egress: nothing to do until the host's OPEN_OK (the guest app's
        // early bytes wait in its socket).
        if (!c.egress) ev = POLLOUT;
      } else {
        if (room && c.out_credit > 0 && !c.rd_eof) ev |= POLLIN;
        if (!c.in_buf.empty() && !c.wr_shut) ev |= POLLOUT;
      }
      if (!ev) continue;
      pfds.push_back({c.sock.get(), ev, 0});
      tags.emplace_back(id, kTcp);
    }
    // Listeners are always polled: without a host their connections are
    // accepted and closed at once, so guest programs fail fast.
    auto add_listener = [&](const Fd& fd, int which) {
      if (!fd.valid()) return;
      pfds.push_back({fd.get(), POLLIN, 0});
      tags.emplace_back(0, which);
    };
    add_listener(opts_.egress.proxy, kEgressProxy);
    add_listener(opts_.egress.transparent, kEgressTransparent);
    add_listener(opts_.egress.dns, kDnsStub);
    int timeout = (hangup_ || shutting_down_) ? kHangupPollMs : -1;
    auto min_timeout = [&](int t) {
      if (t >= 0 && (timeout < 0 || t < timeout)) timeout = t;
    };
    min_timeout(tcp_timeout);
    if (opts_.docker) min_timeout(opts_.docker->timeout_ms());
    int n = poll(pfds.data(), pfds.size(), timeout);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("poll");
    }

    if (pfds[0].revents) {
      signalfd_siginfo si;
      while (read(sigfd_.get(), &si, sizeof si) == sizeof si) {
      }
      reap_children();
    }

    const short link_rev = pfds[1].revents;
    if (link_rev & (POLLIN | POLLHUP | POLLERR)) read_link();
    if (!eof_ && !hangup_ && (link_rev & POLLOUT)) flush_link();
    if (!eof_ && !hangup_ && (link_rev & (POLLHUP | POLLERR)) && !(link_rev & POLLIN))
      enter_hangup("host disconnected");
    if (opts_.docker) {
      opts_.docker->on_poll(pfds.data() + 2, chan_base - 2);
      opts_.docker->tick();
    }

    for (size_t i = chan_base; i < pfds.size(); ++i) {
      if (!pfds[i].revents) continue;
      auto [id, which] = tags[i - chan_base];
      if (which == kEgressProxy || which == kEgressTransparent) {
        egress_accept(which == kEgressTransparent);
        continue;
      }
      if (which == kDnsStub) {
        dns_read();
        continue;
      }
      if (which == kTcp) {
        auto t = tcp_.find(id);
        if (t == tcp_.end()) continue;
        TcpChannel& c = t->second;
        short rev = pfds[i].revents;
        if (c.connecting) {
          tcp_connected(c);
        } else {
          if (rev & (POLLIN | POLLHUP | POLLERR) && (pfds[i].events & POLLIN)) tcp_read(c);
          if (tcp_.count(id) && (rev & (POLLOUT | POLLERR | POLLHUP)) &&
              (pfds[i].events & POLLOUT))
            tcp_write(c);
        }
        tcp_maybe_finish(id);
        continue;
      }
      auto it = channels_.find(id);
      if (it == channels_.end()) continue;  // freed by an earlier event
      ExecChannel& c = it->second;
      short rev = pfds[i].revents;
      if (which == kStdin) {
        write_stdin(c);
      } else if (which == kPty) {
        if (rev & (POLLIN | POLLHUP | POLLERR) && (pfds[i].events & POLLIN))
          read_output(c, kPty);
        if (rev & (POLLHUP | POLLERR) && !c.pty_hup) {
          // The slave side is gone: input has nowhere to go.
          c.pty_hup = true;
          credit_back(c, c.in_buf.size());
          c.in_buf.clear();
        } else if (rev & POLLOUT) {
          write_stdin(c);
        }
      } else {
        read_output(c, which);
      }
      maybe_finish(id);
    }

    if (hangup_) {
      // Is a host back? Only a non-HUP poll result says so.
      pollfd p{link_.get(), POLLIN, 0};
      if (poll(&p, 1, 0) >= 0 && !(p.revents & POLLHUP)) {
        hangup_ = false;
        console_.log("host connected");
      }
    }
    // Opportunistic write: most replies fit in the port's buffer at once.
    if (!hangup_ && !eof_ && pending_out() > 0) flush_link();
  }
}

void LinkServer::enter_hangup(const char* why) {
  if (opts_.exit_on_eof) {
    eof_ = true;
    return;
  }
  if (!hangup_) console_.log(std::string("link: ") + why + "; waiting for the host");
  hangup_ = true;
  // Whatever arrives next starts with a HELLO; partial frames are junk.
  synced_ = false;
  decoder_.reset();
}

void LinkServer::read_link() {
  // Bounded per wake-up so busy channels still get their turn.
  for (int i = 0; i < 16; ++i) {
    ssize_t n = read(link_.get(), read_buf_.data(), read_buf_.size());
    if (n > 0) {
      decoder_.feed(std::string_view(read_buf_.data(), static_cast<size_t>(n)));
      process_input();
      if (eof_) return;
      continue;
    }
    if (n == 0) {
      enter_hangup("link closed");
      return;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    console_.log(std::string("link: read: ") + strerror(errno));
    enter_hangup("link read error");
    return;
  }
}

void LinkServer::flush_link() {
  while (pending_out() > 0) {
    ssize_t n = write(link_.get(), out_.data() + out_off_, pending_out());
    if (n > 0) {
      out_off_ += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    console_.log(std::string("link: write: ") + (n < 0 ? strerror(errno) : "no progress"));
    enter_hangup("link write error");
    break;
  }
  if (out_off_ == out_.size()) {
    out_.clear();
    out_off_ = 0;
  } else if (out_off_ > (1u << 20)) {
    out_.erase(0, out_off_);
    out_off_ = 0;
  }
}

void LinkServer::process_input() {
  for (;;) {
    if (!synced_ && !decoder_.resync(FrameType::kHello)) return;
    auto r = decoder_.next();
    if (!r) {
      console_.log("link: " + r.error().message + "; resynchronising on HELLO");
      synced_ = false;
      continue;
    }
    if (!r->has_value()) return;
    dispatch(std::move(**r));
    if (eof_) return;
  }
}

void LinkServer::dispatch(Frame f) {
  if (f.type == FrameType::kHello) {
    if (f.channel == proto::kHelloChannel) on_hello(f);
    return;
  }
  if (!synced_) return;  // resync() only yields HELLOs; be safe anyway
  switch (f.type) {
    case FrameType::kControl:
      if (f.channel == proto::kControlChannel) on_control(f);
      return;
    case FrameType::kOpen:
      on_open(f);
      return;
    case FrameType::kOpenOk:
    case FrameType::kOpenFail:
      // Answers to our own (egress) OPENs; anything else is a stray.
      if (f.channel & proto::kGuestChannelBit) egress_reply(f);
      return;
    case FrameType::kDatagram:
      on_datagram(f);
      return;
    case FrameType::kData:
    case FrameType::kWindow:
    case FrameType::kEof:
    case FrameType::kClose:
    case FrameType::kResize:
    case FrameType::kSignal: {
      // Frames for a channel that has just been freed are normal races
      // (the host had not yet seen our EXIT): drop them silently.
      auto it = channels_.find(f.channel);
      if (it == channels_.end()) {
        auto t = tcp_.find(f.channel);
        if (t != tcp_.end()) tcp_frame(t->second, f);
        return;
      }
      ExecChannel& c = it->second;
      uint32_t id = f.channel;
      switch (f.type) {
        case FrameType::kData: on_data(c, f); break;
        case FrameType::kWindow: on_window(c, f); break;
        case FrameType::kEof: on_eof(c); break;
        case FrameType::kClose: drop_channel(id, /*kill=*/true); return;
        case FrameType::kResize: on_resize(c, f); break;
        case FrameType::kSignal: on_signal(c, f); break;
        default: break;
      }
      maybe_finish(id);
      return;
    }
    default:
      console_.log(std::string("link: ignoring unexpected ") + proto::type_name(f.type) +
                   " frame on channel " + std::to_string(f.channel));
      return;
  }
}

void LinkServer::on_hello(const Frame& f) {
  auto h = proto::parse_hello(f.payload);
  if (!h) {
    console_.log("link: " + h.error().message);
    return;
  }
  json hj = json::parse(h->json, nullptr, false);
  if (!hj.is_object() || !hj.contains("version") || hj["version"] != proto::kProtocolVersion)
    console_.log("link: HELLO with unexpected version info: " + h->json.substr(0, 200));
  if (h->nonce != nonce_) {
    // A new host session: nothing of the old one survives except detached
    // processes, which no channel tracks.
    out_.clear();
    out_off_ = 0;
    if (!channels_.empty())
      console_.log("link: new session; closing " + std::to_string(channels_.size()) +
                   " channel(s)");
    drop_all_channels();
    dns_pending_.clear();  // the old host's answers will never come
    nonce_ = h->nonce;
    shutting_down_ = false;
  }
  synced_ = true;
  json ack = {{"version", proto::kProtocolVersion},
              {"agent", "0.1.0"},
              {"kernel", kernel_release()},
              {"hostname", host_name()},
              {"pid1", opts_.pid1},
              {"egress", json::parse(egress_json())}};
  send(proto::kHelloChannel, FrameType::kHelloAck, proto::hello_payload(nonce_, ack.dump()));
}

void LinkServer::on_control(const Frame& f) {
  auto req = proto::parse_control_request(f.payload);
  if (!req) {
    console_.log("link: " + req.error().message);
    return;
  }
  proto::ControlResponse resp;
  resp.id = req->id;
  if (req->op == "ping") {
  } else if (req->op == "info") {
    resp.body = json{{"uptime_ms", uptime_ms()},
                     {"kernel", kernel_release()},
                     {"hostname", host_name()}}
                    .dump();
  } else if (req->op == "sync") {
    ::sync();
  } else if (req->op == "docker") {
    resp.body = opts_.docker ? opts_.docker->status_json()
                             : json{{"state", "absent"}, {"since_ms", 0}}.dump();
  } else if (req->op == "shutdown") {
    shutting_down_ = true;
    shutdown_deadline_ = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  } else {
    resp.ok = false;
    resp.error = "unknown control op '" + req->op.substr(0, 64) + "'";
  }
  send(proto::kControlChannel, FrameType::kControl, proto::to_json(resp));
}

void LinkServer::on_open(const Frame& f) {
  auto fail = [&](int code, const std::string& msg) {
    console_.log("open channel " + std::to_string(f.channel) + ": " + msg);
    send(f.channel, FrameType::kOpenFail, proto::to_json(proto::OpenFailure{msg, code}));
  };
  if (f.channel == proto::kControlChannel || f.channel == proto::kHelloChannel)
    return fail(125, "channel id " + std::to_string(f.channel) + " is reserved");
  // The guest allocates ids with this bit (egress) and DNS/HELLO live up
  // there too: a host OPEN on one could only collide.
  if (f.channel & proto::kGuestChannelBit)
    return fail(125, "channel id " + std::to_string(f.channel) + " is reserved for the guest");
  if (channel_in_use(f.channel))
    return fail(125, "channel " + std::to_string(f.channel) + " is already in use");
  if (channels_.size() + tcp_.size() >= kMaxChannels)
    return fail(125, "too many open channels (" + std::to_string(kMaxChannels) + ")");
  auto kind = proto::open_kind(f.payload);
  if (!kind) return fail(125, kind.error().message);
  if (*kind == "tcp") return open_tcp(f);
  if (*kind == "egress") return fail(125, "egress channels are opened by the guest");
  auto req = proto::parse_exec_request(f.payload);
  if (!req) return fail(125, req.error().message);
  auto res = spawner_.spawn(*req);
  if (auto* of = std::get_if<proto::OpenFailure>(&res)) return fail(of->code, of->error);
  auto& sp = std::get<SpawnedExec>(res);
  send(f.channel, FrameType::kOpenOk, json{{"pid", sp.pid}}.dump());
  if (req->detach) {
    // The process lives on unsupervised; SIGCHLD reaps it eventually.
    send(f.channel, FrameType::kExit, proto::to_json(proto::ExitInfo{0, 0}));
    return;
  }
  ExecChannel c;
  c.id = f.channel;
  c.pid = sp.pid;
  c.tty = req->tty;
  c.stdin_fd = std::move(sp.stdin_fd);
  c.stdout_fd = std::move(sp.stdout_fd);
  c.stderr_fd = std::move(sp.stderr_fd);
  c.pty = std::move(sp.pty);
  // Registered before the loop can waitpid() again, so its exit is never
  // mistaken for an unknown child's.
  channels_.emplace(f.channel, std::move(c));
}

void LinkServer::on_data(ExecChannel& c, const Frame& f) {
  uint64_t n = f.payload.size();
  if (n == 0) return;
  if (c.in_outstanding + n > proto::kInitialWindow) {
    console_.log("channel " + std::to_string(c.id) + ": host sent " + std::to_string(n) +
                 " bytes beyond its stdin credit; closing the channel");
    uint32_t id = c.id;
    send(id, FrameType::kClose, "");
    drop_channel(id, /*kill=*/true);
    return;
  }
  c.in_outstanding += n;
  if (c.in_closed || c.in_eof || (c.tty && c.pty_hup)) {
    credit_back(c, n);  // nowhere to deliver it; keep the host's window open
    return;
  }
  c.in_buf.append(f.payload);
  write_stdin(c);
}

void LinkServer::on_window(ExecChannel& c, const Frame& f) {
  auto n = proto::decode_u32(f.payload);
  if (!n) {
    console_.log("channel " + std::to_string(c.id) + ": bad WINDOW: " + n.error().message);
    return;
  }
  c.out_credit = std::min<uint64_t>(c.out_credit + *n, kMaxCredit);
}

void LinkServer::on_eof(ExecChannel& c) {
  c.in_eof = true;
  // A pty has no half-close: closing the master would hang up the session.
  // Host EOF on a tty channel only stops further input.
  if (!c.tty && c.in_buf.empty() && c.stdin_fd.valid()) {
    c.stdin_fd.reset();
    c.in_closed = true;
  }
}

void LinkServer::on_resize(ExecChannel& c, const Frame& f) {
  auto rc = proto::decode_resize(f.payload);
  if (!rc) {
    console_.log("channel " + std::to_string(c.id) + ": " + rc.error().message);
    return;
  }
  if (!c.tty || !c.pty.valid()) return;
  winsize ws{};
  ws.ws_row = rc->first;
  ws.ws_col = rc->second;
  (void)ioctl(c.pty.get(), TIOCSWINSZ, &ws);  // the kernel sends SIGWINCH
}

void LinkServer::on_signal(ExecChannel& c, const Frame& f) {
  if (f.payload.size() != 1) {
    console_.log("channel " + std::to_string(c.id) + ": malformed SIGNAL frame");
    return;
  }
  int sig = static_cast<unsigned char>(f.payload[0]);
  if (sig < 1 || sig > 64) {
    console_.log("channel " + std::to_string(c.id) + ": invalid signal " + std::to_string(sig));
    return;
  }
  if (c.exited) return;
  if (kill(-c.pid, sig) < 0 && errno == ESRCH) (void)kill(c.pid, sig);
}

void LinkServer::credit_back(ExecChannel& c, uint64_t n) {
  credit_back_raw(c.id, c.in_outstanding, n);
}

void LinkServer::credit_back_raw(uint32_t id, uint64_t& outstanding, uint64_t n) {
  while (n > 0) {
    uint32_t part = static_cast<uint32_t>(std::min<uint64_t>(n, 0xFFFFFFFFu));
    outstanding -= std::min<uint64_t>(part, outstanding);
    send(id, FrameType::kWindow, proto::encode_u32(part));
    n -= part;
  }
}

void LinkServer::write_stdin(ExecChannel& c) {
  int fd = c.tty ? c.pty.get() : c.stdin_fd.get();
  uint64_t written = 0;
  bool broken = fd < 0;
  while (!broken && !c.in_buf.empty()) {
    ssize_t n = write(fd, c.in_buf.data(), c.in_buf.size());
    if (n > 0) {
      written += static_cast<uint64_t>(n);
      c.in_buf.erase(0, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    broken = true;  // EPIPE (stdin closed by the child), EIO (pty gone)
  }
  if (broken) {
    written += c.in_buf.size();
    c.in_buf.clear();
    if (c.tty) {
      c.pty_hup = true;
    } else {
      c.stdin_fd.reset();
      c.in_closed = true;
    }
  }
  credit_back(c, written);
  if (!c.tty && c.in_eof && c.in_buf.empty() && c.stdin_fd.valid()) {
    c.stdin_fd.reset();
    c.in_closed = true;
  }
}

void LinkServer::read_output(ExecChannel& c, int which) {
  Fd& fd = which == kStdout ? c.stdout_fd : which == kStderr ? c.stderr_fd : c.pty;
  if (!fd.valid() || c.out_credit == 0) return;
  size_t max = static_cast<size_t>(std::min<uint64_t>(read_buf_.size(), c.out_credit));
  ssize_t n;
  do {
    n = read(fd.get(), read_buf_.data(), max);
  } while (n < 0 && errno == EINTR);
  if (n > 0) {
    c.out_credit -= static_cast<uint64_t>(n);
    send(c.id, which == kStderr ? FrameType::kDataErr : FrameType::kData,
         std::string_view(read_buf_.data(), static_cast<size_t>(n)));
    return;
  }
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
  // EOF, or EIO on a pty master: the slave side has been closed everywhere.
  if (n < 0 && !(which == kPty && errno == EIO))
    console_.log("channel " + std::to_string(c.id) + ": read: " + strerror(errno));
  if (which == kPty)
    c.pty_eof = true;
  else
    fd.reset();
}

void LinkServer::maybe_finish(uint32_t id) {
  auto it = channels_.find(id);
  if (it == channels_.end()) return;
  ExecChannel& c = it->second;
  if (!c.exited || !c.output_done()) return;
  send(id, FrameType::kEof, "");
  send(id, FrameType::kExit, proto::to_json(c.exit));
  channels_.erase(it);
}

void LinkServer::kill_channel(ExecChannel& c) {
  if (c.pid <= 0) return;
  // Even after the leader exited, its session may live on (background jobs
  // holding the output pipe open).
  if (!c.exited) (void)kill(c.pid, SIGKILL);
  kill_session(c.pid, SIGKILL);
}

void LinkServer::drop_channel(uint32_t id, bool kill) {
  auto it = channels_.find(id);
  if (it == channels_.end()) return;
  if (kill) kill_channel(it->second);
  channels_.erase(it);  // closes its fds; the zombie is reaped via SIGCHLD
}

void LinkServer::drop_all_channels() {
  for (auto& [id, c] : channels_) kill_channel(c);
  channels_.clear();
  tcp_.clear();  // closes the sockets
}

void LinkServer::reap_children() {
  for (;;) {
    int st = 0;
    pid_t p = waitpid(-1, &st, WNOHANG);
    if (p <= 0) break;  // 0: none ready; -1/ECHILD: no children at all
    if (opts_.docker && opts_.docker->on_child_exit(p, st)) continue;
    for (auto& [id, c] : channels_) {
      if (c.pid != p) continue;
      c.exited = true;
      if (WIFEXITED(st)) {
        c.exit = proto::ExitInfo{WEXITSTATUS(st), 0};
      } else if (WIFSIGNALED(st)) {
        c.exit = proto::ExitInfo{128 + WTERMSIG(st), WTERMSIG(st)};
      }
      uint32_t cid = id;
      maybe_finish(cid);
      break;
    }
  }
}

}  // namespace sbx::agent
