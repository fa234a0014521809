#include "agent/link_server.h"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "agent/docker_supervisor.h"
#include "agent/egress_connection.h"
#include "agent/exec_channel.h"
#include "agent/open_request.h"
#include "agent/system_info.h"
#include "agent/tcp_channel.h"
#include "sbx_version.h"

namespace sbx::agent {

using nlohmann::json;
using proto::Frame;
using proto::FrameType;
using Clock = std::chrono::steady_clock;

namespace {

/// More concurrent channels than this are refused.
constexpr size_t kMaxChannels = 1024;
/// Concurrent egress channels; more connections are accepted and closed.
constexpr size_t kMaxEgressChannels = 256;
/// Connections accepted per wake-up, so a flood on one listener cannot
/// starve the loop.
constexpr int kAcceptBurst = 64;
/// While no host is connected, look at the port this often.
constexpr int kHangupPollMs = 100;

/// Poll entries that belong to no channel carry channel 0 (the control
/// channel is never a Channel) and one of these slots.
enum ServerSlot { kEgressProxy, kEgressTransparent, kDnsStub };

}  // namespace

LinkServer::LinkServer(Fd link, const Console& console, LinkOptions opts)
    : link_(std::move(link)),
      console_(console),
      opts_(std::move(opts)),
      spawner_(opts_.spawner),
      read_buf_(proto::kDataChunk),
      ctx_{out_, console_, read_buf_},
      dns_(opts_.egress.dns, out_, console_) {}

LinkServer::~LinkServer() { drop_all_channels(); }

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

  PollSet set;
  for (;;) {
    if (eof_) return LinkExit::kEof;
    if (shutting_down_ && (out_.pending() == 0 || hangup_ || Clock::now() >= shutdown_deadline_))
      return LinkExit::kShutdown;

    int timeout = build_poll_set(set);
    int n = poll(set.fds.data(), set.fds.size(), timeout);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("poll");
    }

    if (set.fds[0].revents) {
      signalfd_siginfo si;
      while (read(sigfd_.get(), &si, sizeof si) == sizeof si) {
      }
      reap_children();
    }
    const short link_rev = set.fds[1].revents;
    if (link_rev & (POLLIN | POLLHUP | POLLERR)) read_link();
    if (!eof_ && !hangup_ && (link_rev & POLLOUT)) flush_link();
    if (!eof_ && !hangup_ && (link_rev & (POLLHUP | POLLERR)) && !(link_rev & POLLIN))
      enter_hangup("host disconnected");
    if (opts_.docker) {
      opts_.docker->on_poll(set.fds.data() + 2, set.tags_base - 2);
      opts_.docker->tick();
    }
    handle_events(set);

    if (hangup_) {
      // Is a host back? Only a non-HUP poll result says so.
      pollfd p{link_.get(), POLLIN, 0};
      if (poll(&p, 1, 0) >= 0 && !(p.revents & POLLHUP)) {
        hangup_ = false;
        console_.log("host connected");
      }
    }
    // Opportunistic write: most replies fit in the port's buffer at once.
    if (!hangup_ && !eof_ && out_.pending() > 0) flush_link();
  }
}

int LinkServer::build_poll_set(PollSet& set) {
  // Expired connects are failed before the set is built, so no closed
  // socket ends up in it.
  int timeout = (hangup_ || shutting_down_) ? kHangupPollMs : -1;
  auto min_timeout = [&](int t) {
    if (t >= 0 && (timeout < 0 || t < timeout)) timeout = t;
  };
  const auto now = Clock::now();
  for (auto it = channels_.begin(); it != channels_.end();) {
    min_timeout(it->second->check_deadline(now));
    it = it->second->closed() ? channels_.erase(it) : std::next(it);
  }
  set.fds.clear();
  set.tags.clear();
  set.fds.push_back({sigfd_.get(), POLLIN, 0});
  // A hung-up port reports POLLHUP whatever we ask for, so it is left out
  // of the set entirely (no busy loop) and re-checked on a timer.
  short link_ev = 0;
  if (!hangup_) {
    if (out_.below_cap()) link_ev |= POLLIN;
    if (out_.pending() > 0) link_ev |= POLLOUT;
  }
  set.fds.push_back({link_ev ? link_.get() : -1, link_ev, 0});
  // The supervisor's fds (listening socket, readiness probe) come next;
  // tagged entries follow from tags_base on.
  if (opts_.docker) {
    opts_.docker->add_poll_fds(set.fds);
    min_timeout(opts_.docker->timeout_ms());
  }
  set.tags_base = set.fds.size();
  const bool room = out_.has_room();
  for (auto& [id, c] : channels_) c->add_poll_fds(set, room);
  // Listeners are always polled: without a host their connections are
  // accepted and closed at once, so guest programs fail fast.
  auto add_listener = [&](const Fd& fd, int slot) {
    if (fd.valid()) set.add(0, fd.get(), POLLIN, slot);
  };
  add_listener(opts_.egress.proxy, kEgressProxy);
  add_listener(opts_.egress.transparent, kEgressTransparent);
  add_listener(opts_.egress.dns, kDnsStub);
  return timeout;
}

void LinkServer::handle_events(const PollSet& set) {
  for (size_t i = set.tags_base; i < set.fds.size(); ++i) {
    const pollfd& p = set.fds[i];
    if (!p.revents) continue;
    auto [id, slot] = set.tags[i - set.tags_base];
    if (id == 0) {
      if (slot == kDnsStub)
        dns_.read_queries(host_connected());
      else
        accept_egress(slot == kEgressTransparent);
      continue;
    }
    auto it = channels_.find(id);
    if (it == channels_.end()) continue;  // freed by an earlier event
    it->second->on_ready(slot, p.events, p.revents);
    settle(id);
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
  if (auto r = out_.flush(link_.get()); !r) {
    console_.log("link: write: " + r.error().message);
    enter_hangup("link write error");
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
    case FrameType::kDatagram:
      if (f.channel == proto::kDnsChannel) dns_.on_answer(f.payload);
      return;
    case FrameType::kOpenOk:
    case FrameType::kOpenFail:
      // Answers to our own (egress) OPENs; anything else is a stray.
      if (!(f.channel & proto::kGuestChannelBit)) return;
      [[fallthrough]];
    case FrameType::kData:
    case FrameType::kWindow:
    case FrameType::kEof:
    case FrameType::kClose:
    case FrameType::kResize:
    case FrameType::kSignal: {
      // Frames for a channel that has just been freed are normal races
      // (the host had not yet seen our EXIT or CLOSE): drop them silently.
      auto it = channels_.find(f.channel);
      if (it == channels_.end()) return;
      on_channel_frame(*it->second, f);
      settle(f.channel);
      return;
    }
    default:
      console_.log(std::string("link: ignoring unexpected ") + proto::type_name(f.type) +
                   " frame on channel " + std::to_string(f.channel));
      return;
  }
}

void LinkServer::on_channel_frame(Channel& c, const Frame& f) {
  switch (f.type) {
    case FrameType::kData:
      return c.on_data(f.payload);
    case FrameType::kWindow:
      return c.on_window(f.payload);
    case FrameType::kEof:
      return c.on_eof();
    case FrameType::kClose:
      return c.abort();
    case FrameType::kResize:
      return c.on_resize(f.payload);
    case FrameType::kSignal:
      return c.on_signal(f.payload);
    case FrameType::kOpenOk:
      return c.on_open_reply(true);
    case FrameType::kOpenFail:
      return c.on_open_reply(false);
    default:
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
    if (!channels_.empty())
      console_.log("link: new session; closing " + std::to_string(channels_.size()) +
                   " channel(s)");
    drop_all_channels();
    dns_.clear();  // the old host's answers will never come
    nonce_ = h->nonce;
    shutting_down_ = false;
  }
  synced_ = true;
  json ack = {{"version", proto::kProtocolVersion},
              {"agent", SBX_VERSION},
              {"kernel", kernel_release()},
              {"hostname", host_name()},
              {"pid1", opts_.pid1},
              {"egress", json::parse(egress_json())}};
  out_.send(proto::kHelloChannel, FrameType::kHelloAck, proto::hello_payload(nonce_, ack.dump()));
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
    resp.body =
        json{{"uptime_ms", uptime_ms()}, {"kernel", kernel_release()}, {"hostname", host_name()}}
            .dump();
  } else if (req->op == "sync") {
    ::sync();
  } else if (req->op == "docker") {
    resp.body = opts_.docker ? opts_.docker->status_json()
                             : json{{"state", "absent"}, {"since_ms", 0}}.dump();
  } else if (req->op == "shutdown") {
    shutting_down_ = true;
    shutdown_deadline_ = Clock::now() + std::chrono::seconds(2);
  } else {
    resp.ok = false;
    resp.error = "unknown control op '" + req->op.substr(0, 64) + "'";
  }
  out_.send(proto::kControlChannel, FrameType::kControl, proto::to_json(resp));
}

void LinkServer::on_open(const Frame& f) {
  const uint32_t id = f.channel;
  auto fail = [&](const std::string& msg) { ctx_.open_fail(id, 125, msg); };
  if (id == proto::kControlChannel || id == proto::kHelloChannel)
    return fail("channel id " + std::to_string(id) + " is reserved");
  // The guest allocates ids with this bit (egress) and DNS/HELLO live up
  // there too: a host OPEN on one could only collide.
  if (id & proto::kGuestChannelBit)
    return fail("channel id " + std::to_string(id) + " is reserved for the guest");
  if (channels_.count(id)) return fail("channel " + std::to_string(id) + " is already in use");
  if (channels_.size() >= kMaxChannels)
    return fail("too many open channels (" + std::to_string(kMaxChannels) + ")");
  auto req = parse_open_request(f.payload);
  if (!req) return fail(req.error().message);
  if (auto* exec = std::get_if<proto::ExecRequest>(&*req))
    // Registered before the loop can waitpid() again, so its exit is never
    // mistaken for an unknown child's.
    return add_channel(ExecChannel::open(id, *exec, spawner_, ctx_));
  add_channel(TcpChannel::connect(id, std::get<proto::TcpConnectRequest>(*req), ctx_));
}

std::string LinkServer::egress_json() const {
  const EgressSockets& e = opts_.egress;
  return json{{"proxy", e.proxy.valid() ? e.proxy_addr : ""},
              {"transparent", e.redirect},
              {"dns", e.dns.valid()},
              {"transparent_addr", e.transparent.valid() ? e.transparent_addr : ""},
              {"dns_addr", e.dns.valid() ? e.dns_addr : ""}}
      .dump();
}

void LinkServer::add_channel(std::unique_ptr<Channel> c) {
  if (!c) return;
  uint32_t id = c->id();
  channels_.emplace(id, std::move(c));
  settle(id);
}

void LinkServer::settle(uint32_t id) {
  auto it = channels_.find(id);
  if (it == channels_.end()) return;
  it->second->finish_if_done();
  if (it->second->closed()) channels_.erase(it);
}

void LinkServer::drop_all_channels() {
  for (auto& [id, c] : channels_) c->abort();
  channels_.clear();  // closes their fds; zombies are reaped via SIGCHLD
}

void LinkServer::reap_children() {
  for (;;) {
    int st = 0;
    pid_t p = waitpid(-1, &st, WNOHANG);
    if (p <= 0) break;  // 0: none ready; -1/ECHILD: no children at all
    if (opts_.docker && opts_.docker->on_child_exit(p, st)) continue;
    for (auto& [id, c] : channels_) {
      if (!c->on_child_exit(p, st)) continue;
      settle(id);  // may erase: leave the loop at once
      break;
    }
  }
}

uint32_t LinkServer::alloc_guest_channel() {
  // At most kMaxEgressChannels ids are in use, so this ends quickly. Ids
  // stay below 0xFFFFFFFE/0xFFFFFFFF (DNS, HELLO).
  for (;;) {
    uint32_t id = proto::kGuestChannelBit | next_guest_;
    next_guest_ = next_guest_ + 1 >= 0x7FFFFFFEu ? 1 : next_guest_ + 1;
    if (!channels_.count(id)) return id;
  }
}

void LinkServer::accept_egress(bool transparent) {
  const Fd& listener = transparent ? opts_.egress.transparent : opts_.egress.proxy;
  for (int i = 0; i < kAcceptBurst; ++i) {
    auto sock = accept_pending(listener, console_);
    if (!sock) return;
    // Without a host nobody could answer the OPEN: fail fast (the socket
    // closes at the end of this iteration).
    if (!host_connected()) continue;
    // Only the guest opens ids with the guest bit: they are the egress ones.
    size_t egress = 0;
    for (auto& [id, c] : channels_) egress += (id & proto::kGuestChannelBit) != 0;
    if (egress >= kMaxEgressChannels) {
      auto now = Clock::now();
      if (now >= egress_log_next_) {
        console_.log("egress: " + std::to_string(kMaxEgressChannels) +
                     " connections open; refusing more");
        egress_log_next_ = now + std::chrono::seconds(5);
      }
      continue;
    }
    auto conn = describe_egress(std::move(*sock), transparent);
    if (!conn) continue;
    add_channel(TcpChannel::egress(alloc_guest_channel(), std::move(conn->sock), conn->request,
                                   std::move(conn->label), ctx_));
  }
}

}  // namespace sbx::agent
