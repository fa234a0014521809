#include "daemon/agent_link.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <random>

namespace sbx::daemon {

using proto::FrameType;
using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------- GuestChannel

void GuestChannel::push(Event e) {
  {
    std::lock_guard l(mu_);
    if (finished_) return;
    if (e.kind == Event::Kind::kExit || e.kind == Event::Kind::kError ||
        e.kind == Event::Kind::kClosed)
      finished_ = true;
    events_.push_back(std::move(e));
  }
  cv_.notify_all();
}

void GuestChannel::fail(const std::string& why) {
  {
    std::lock_guard l(mu_);
    if (!open_done_) {
      open_done_ = true;
      open_ok_ = false;
      open_failure_ = proto::OpenFailure{why, 125};
    }
  }
  push(Event{Event::Kind::kError, why, {}});
}

GuestChannel::Event GuestChannel::next_event() {
  std::unique_lock l(mu_);
  cv_.wait(l, [&] { return !events_.empty(); });
  Event e = std::move(events_.front());
  events_.pop_front();
  return e;
}

void GuestChannel::consumed(size_t n) {
  if (n == 0) return;
  {
    std::lock_guard l(mu_);
    if (finished_) return;
    recv_outstanding_ -= std::min<uint64_t>(n, recv_outstanding_);
  }
  (void)link_->send(id_, FrameType::kWindow, proto::encode_u32(static_cast<uint32_t>(n)));
}

Result<void> GuestChannel::write_stdin(std::string_view data) {
  while (!data.empty()) {
    size_t n;
    {
      std::unique_lock l(mu_);
      cv_.wait(l, [&] { return send_credit_ > 0 || finished_; });
      if (finished_) return err("command has ended");
      n = std::min<size_t>({data.size(), send_credit_, proto::kDataChunk});
      send_credit_ -= n;
    }
    auto r = link_->send(id_, FrameType::kData, data.substr(0, n));
    if (!r) return r;
    data.remove_prefix(n);
  }
  return ok();
}

Result<void> GuestChannel::close_stdin() { return link_->send(id_, FrameType::kEof, ""); }

Result<void> GuestChannel::resize(uint16_t rows, uint16_t cols) {
  return link_->send(id_, FrameType::kResize, proto::encode_resize(rows, cols));
}

Result<void> GuestChannel::signal(int sig) {
  if (sig < 1 || sig > 64) return err("invalid signal " + std::to_string(sig));
  return link_->send(id_, FrameType::kSignal, std::string(1, static_cast<char>(sig)));
}

void GuestChannel::abort() {
  (void)link_->send(id_, FrameType::kClose, "");
  link_->forget(id_);
  push(Event{Event::Kind::kError, "aborted", {}});
}

// ------------------------------------------------------------------ AgentLink

Result<std::shared_ptr<AgentLink>> AgentLink::connect(const std::string& socket_path,
                                                      std::chrono::milliseconds timeout,
                                                      const std::function<bool()>& alive,
                                                      Logger& log) {
  auto deadline = Clock::now() + timeout;
  Fd fd;
  // QEMU creates the chardev socket shortly after it starts.
  for (;;) {
    auto c = unix_connect(socket_path);
    if (c) {
      fd = std::move(*c);
      break;
    }
    if (!alive()) return err("the VM exited before its agent socket appeared");
    if (Clock::now() > deadline) return c.error().wrap("connect to agent");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return handshake(std::move(fd), std::max(left, std::chrono::milliseconds(1)), alive, log);
}

namespace {

/// Writes all of `data` without blocking past `deadline`.
Result<void> send_by(int fd, std::string_view data, Clock::time_point deadline) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return errno_error("send");
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return err("the guest stopped reading its agent port");
    pollfd p{fd, POLLOUT, 0};
    (void)::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
  }
  return ok();
}

}  // namespace

Result<std::shared_ptr<AgentLink>> AgentLink::handshake(Fd fd, std::chrono::milliseconds timeout,
                                                        const std::function<bool()>& alive,
                                                        Logger& log, HandshakeStats* stats) {
  HandshakeStats ignored;
  if (!stats) stats = &ignored;
  *stats = {};
  auto deadline = Clock::now() + timeout;
  std::random_device rd;
  std::string nonce(proto::kNonceSize, '\0');
  for (auto& c : nonce) c = static_cast<char>(rd());
  std::string hello = proto::encode(
      proto::Frame{proto::kHelloChannel, FrameType::kHello,
                   proto::hello_payload(nonce, "{\"version\":" +
                                                   std::to_string(proto::kProtocolVersion) + "}")});

  std::shared_ptr<AgentLink> link(new AgentLink(std::move(fd), log));
  // Until the agent answers with our nonce, everything read is either the
  // stale tail of an earlier connection or boot noise: resync() drops it.
  auto next_hello = Clock::now();
  char buf[65536];
  for (;;) {
    auto now = Clock::now();
    if (now >= next_hello) {
      // Short: the agent answers the first HELLO it sees once its port is
      // open, so this interval is pure latency on every boot.
      next_hello = now + std::chrono::milliseconds(100);
      // Never block here. A guest that hangs before it opens its port makes
      // QEMU stop reading the socket; a blocking write then outlived the
      // boot deadline (a create hung for ten minutes). Skip a HELLO the
      // socket cannot take now; one that starts is finished by the deadline.
      pollfd w{link->fd_.get(), POLLOUT, 0};
      if (::poll(&w, 1, 0) == 1 && (w.revents & POLLOUT)) {
        auto r = send_by(link->fd_.get(), hello, deadline);
        if (!r) return r.error().wrap("send HELLO to agent");
      }
    }
    if (now > deadline) return err("the guest agent did not answer within " +
                                   std::to_string(timeout.count() / 1000) + " s");
    if (!alive()) return err("the VM exited while booting");
    pollfd p{link->fd_.get(), POLLIN, 0};
    int pr = ::poll(&p, 1, 100);
    if (pr < 0 && errno != EINTR) return errno_error("poll agent socket");
    if (pr <= 0) continue;
    ssize_t n = ::read(link->fd_.get(), buf, sizeof buf);
    if (n == 0) return err("the VM closed the agent socket while booting");
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return errno_error("read agent socket");
    }
    link->decoder_.feed(std::string_view(buf, static_cast<size_t>(n)));
    stats->bytes_read += static_cast<size_t>(n);
    bool aligned = link->decoder_.resync(FrameType::kHelloAck, nonce);
    stats->peak_buffered = std::max(stats->peak_buffered, link->decoder_.buffered());
    if (!aligned) continue;
    auto f = link->decoder_.next();
    if (!f || !f->has_value()) continue;  // the rest of the ACK is on its way
    auto h = proto::parse_hello((*f)->payload);
    if (!h) return h.error().wrap("agent HELLO_ACK");
    link->agent_info_ = h->json;
    break;
  }
  // The reader keeps the link alive while it runs, so the link can never be
  // destroyed under it; owners end it with close(). The last reference may
  // then drop on the reader thread itself, after the loop (see ~AgentLink).
  link->reader_ = std::thread([self = link] { self->reader_loop(); });
  return link;
}

AgentLink::~AgentLink() {
  close();
  if (reader_.joinable()) {
    // The last reference can be dropped by the reader itself (a channel it
    // was dispatching to); it is on its way out and must not join itself.
    if (reader_.get_id() == std::this_thread::get_id())
      reader_.detach();
    else
      reader_.join();
  }
}

bool AgentLink::connected() const {
  std::lock_guard l(mu_);
  return !broken_;
}

void AgentLink::close() {
  {
    std::lock_guard l(mu_);
    if (broken_) return;
  }
  // Wakes the reader, which fails every channel and control on its way out.
  ::shutdown(fd_.get(), SHUT_RDWR);
  if (reader_.joinable() && reader_.get_id() != std::this_thread::get_id()) reader_.join();
}

Result<void> AgentLink::send(uint32_t channel, FrameType type, std::string_view payload) {
  std::string bytes;
  proto::encode_into(bytes, channel, type, payload);
  std::lock_guard l(write_mu_);
  {
    std::lock_guard s(mu_);
    if (broken_) return err("agent link is down: " + broken_reason_);
  }
  auto r = write_all(fd_.get(), bytes);
  if (!r) return r.error().wrap("write to agent");
  return ok();
}

void AgentLink::reader_loop() {
  char buf[65536];
  std::string why = "the VM closed the agent link";
  for (;;) {
    // Frames already buffered (e.g. right behind the HELLO_ACK) come first.
    bool bad = false;
    for (;;) {
      auto f = decoder_.next();
      if (!f) {
        why = "protocol error from guest: " + f.error().message;
        bad = true;
        break;
      }
      if (!f->has_value()) break;
      dispatch(std::move(**f));
    }
    if (bad) break;
    ssize_t n = ::read(fd_.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    decoder_.feed(std::string_view(buf, static_cast<size_t>(n)));
  }
  log_.info("agent link closed: " + why);
  ::shutdown(fd_.get(), SHUT_RDWR);
  fail_all(why);
}

void AgentLink::fail_all(const std::string& why) {
  std::map<uint32_t, std::shared_ptr<GuestChannel>> chans;
  {
    std::lock_guard l(mu_);
    broken_ = true;
    broken_reason_ = why;
    chans.swap(channels_);
  }
  cv_.notify_all();
  for (auto& [id, ch] : chans) {
    ch->fail("agent link lost: " + why);
    ch->cv_.notify_all();
  }
}

void AgentLink::forget(uint32_t channel) {
  std::lock_guard l(mu_);
  channels_.erase(channel);
}

void AgentLink::dispatch(proto::Frame f) {
  if (f.type == FrameType::kHelloAck || f.type == FrameType::kHello) return;  // repeats
  if (f.channel == proto::kControlChannel) {
    if (f.type != FrameType::kControl) return;
    auto r = proto::parse_control_response(f.payload);
    if (!r) {
      log_.warn("bad control response from guest: " + r.error().message);
      return;
    }
    std::lock_guard l(mu_);
    auto it = pending_controls_.find(r->id);
    if (it != pending_controls_.end()) it->second = std::move(*r);
    cv_.notify_all();
    return;
  }
  if (f.channel == proto::kDnsChannel) {
    if (f.type != FrameType::kDatagram) return;
    // Malformed datagrams are dropped without a word: a hostile guest must
    // not be able to fill the daemon's log.
    auto d = proto::decode_datagram(f.payload);
    if (!d) return;
    std::lock_guard h(handler_mu_);
    if (dns_handler_) dns_handler_(std::move(*d));
    return;
  }
  if (f.type == FrameType::kOpen) {
    guest_open(f);
    return;
  }
  std::shared_ptr<GuestChannel> ch;
  {
    std::lock_guard l(mu_);
    auto it = channels_.find(f.channel);
    if (it != channels_.end()) ch = it->second;
  }
  if (!ch) return;  // late frames for a channel we closed
  using K = GuestChannel::Event::Kind;
  switch (f.type) {
    case FrameType::kOpenOk:
    case FrameType::kOpenFail: {
      std::lock_guard l(ch->mu_);
      if (ch->open_done_) break;
      ch->open_done_ = true;
      ch->open_ok_ = f.type == FrameType::kOpenOk;
      if (ch->open_ok_) {
        // {"pid": N}; the pid is informational only.
        auto p = f.payload.find("\"pid\":");
        if (p != std::string::npos) ch->pid_ = std::atoll(f.payload.c_str() + p + 6);
      } else {
        auto fl = proto::parse_open_failure(f.payload);
        ch->open_failure_ =
            fl ? *fl
               : proto::OpenFailure{"malformed OPEN_FAIL from guest: " + fl.error().message, 125};
      }
      ch->cv_.notify_all();
      break;
    }
    case FrameType::kData:
    case FrameType::kDataErr: {
      bool violated = false;
      {
        std::lock_guard l(ch->mu_);
        ch->recv_outstanding_ += f.payload.size();
        violated = ch->recv_outstanding_ > proto::kInitialWindow;
      }
      if (violated) {
        log_.warn("guest exceeded its credit on channel " + std::to_string(f.channel));
        ch->abort();
        break;
      }
      ch->push({f.type == FrameType::kData ? K::kStdout : K::kStderr, std::move(f.payload), {}});
      break;
    }
    case FrameType::kWindow: {
      auto n = proto::decode_u32(f.payload);
      if (!n) break;
      {
        std::lock_guard l(ch->mu_);
        ch->send_credit_ = std::min<uint64_t>(ch->send_credit_ + *n, 1ull << 40);
      }
      ch->cv_.notify_all();
      break;
    }
    case FrameType::kExit: {
      auto e = proto::parse_exit(f.payload);
      forget(f.channel);
      if (!e) {
        ch->push({K::kError, "malformed EXIT from guest: " + e.error().message, {}});
      } else {
        ch->push({K::kExit, "", *e});
      }
      break;
    }
    case FrameType::kClose:
      forget(f.channel);
      ch->push({K::kClosed, "", {}});
      break;
    case FrameType::kEof:
      ch->push({K::kEof, "", {}});
      break;
    default:
      break;
  }
}

void AgentLink::refuse_open(uint32_t channel, const std::string& why) {
  (void)send(channel, FrameType::kOpenFail, proto::to_json(proto::OpenFailure{why, 125}));
}

void AgentLink::guest_open(proto::Frame& f) {
  const uint32_t id = f.channel;
  if (id == proto::kDnsChannel || id == proto::kHelloChannel) return;  // reserved: never answer
  if ((id & proto::kGuestChannelBit) == 0) {
    // The host's range. If one of our channels uses the id, an OPEN_FAIL
    // would speak on it: stay silent then.
    bool ours;
    {
      std::lock_guard l(mu_);
      ours = channels_.count(id) != 0;
    }
    if (!ours) refuse_open(id, "channel " + std::to_string(id) + " is not a guest channel");
    return;
  }
  auto kind = proto::open_kind(f.payload);
  if (!kind || *kind != "egress") {
    refuse_open(id, "the guest may only open egress channels");
    return;
  }
  auto req = proto::parse_egress_open(f.payload);
  if (!req) {
    refuse_open(id, "bad egress request: " + req.error().message);
    return;
  }
  // Held across registration and the call, so a concurrent setter waits
  // until this channel has reached its handler (or was refused).
  std::lock_guard h(handler_mu_);
  if (!egress_handler_) {
    refuse_open(id, "egress is not enabled");
    return;
  }
  std::shared_ptr<GuestChannel> ch;
  std::string refusal;
  {
    std::lock_guard l(mu_);
    if (broken_) return;
    if (channels_.count(id)) {
      refusal = "channel " + std::to_string(id) + " is already open";
    } else if (static_cast<size_t>(std::distance(channels_.lower_bound(proto::kGuestChannelBit),
                                                 channels_.end())) >= kMaxGuestChannels) {
      refusal = "too many egress connections (at most " + std::to_string(kMaxGuestChannels) + ")";
    } else {
      ch.reset(new GuestChannel(shared_from_this(), id));
      ch->open_done_ = ch->open_ok_ = true;
      channels_[id] = ch;
    }
  }
  if (!ch) {
    refuse_open(id, refusal);
    return;
  }
  // OPEN_OK goes out before the handler can send anything on the channel.
  if (!send(id, FrameType::kOpenOk, "{}")) {
    forget(id);
    return;
  }
  if (auto r = egress_handler_(ch, std::move(*req)); !r) {
    log_.debug("egress channel " + std::to_string(id) + " refused: " + r.error().message);
    ch->abort();
  }
}

void AgentLink::set_egress_handler(EgressHandler h) {
  std::lock_guard l(handler_mu_);
  egress_handler_ = std::move(h);
}

void AgentLink::set_dns_handler(DnsHandler h) {
  std::lock_guard l(handler_mu_);
  dns_handler_ = std::move(h);
}

Result<void> AgentLink::send_datagram(uint32_t tag, std::string_view body) {
  if (body.size() > proto::kMaxDatagram) return err("datagram too large");
  return send(proto::kDnsChannel, FrameType::kDatagram, proto::encode_datagram(tag, body));
}

Result<proto::ControlResponse> AgentLink::control(const std::string& op,
                                                  std::chrono::milliseconds timeout) {
  uint64_t id;
  {
    std::lock_guard l(mu_);
    id = next_control_id_++;
    pending_controls_[id];
  }
  auto s = send(proto::kControlChannel, FrameType::kControl,
                proto::to_json(proto::ControlRequest{id, op}));
  std::unique_lock l(mu_);
  if (!s) {
    pending_controls_.erase(id);
    return s.error();
  }
  bool got = cv_.wait_for(l, timeout, [&] { return pending_controls_[id].has_value() || broken_; });
  auto resp = pending_controls_[id];
  pending_controls_.erase(id);
  if (resp) return *resp;
  if (!got) return err("agent did not answer '" + op + "' in time");
  return err("agent link lost during '" + op + "': " + broken_reason_);
}

Result<std::shared_ptr<GuestChannel>> AgentLink::open_exec(const proto::ExecRequest& req,
                                                          std::chrono::milliseconds timeout) {
  return open(proto::to_json(req), timeout);
}

Result<std::shared_ptr<GuestChannel>> AgentLink::open_tcp(const proto::TcpConnectRequest& req,
                                                         std::chrono::milliseconds timeout) {
  return open(proto::to_json(req), timeout);
}

Result<std::shared_ptr<GuestChannel>> AgentLink::open(const std::string& payload,
                                                     std::chrono::milliseconds timeout) {
  std::shared_ptr<GuestChannel> ch;
  {
    std::lock_guard l(mu_);
    if (broken_) return err("agent link is down: " + broken_reason_);
    uint32_t id = next_channel_++;
    if (next_channel_ >= 0x7FFFFFFFu) next_channel_ = 1;
    ch.reset(new GuestChannel(shared_from_this(), id));
    channels_[id] = ch;
  }
  auto s = send(ch->id(), FrameType::kOpen, payload);
  if (!s) {
    forget(ch->id());
    return s.error();
  }
  std::unique_lock l(ch->mu_);
  if (!ch->cv_.wait_for(l, timeout, [&] { return ch->open_done_; })) {
    l.unlock();
    ch->abort();
    return err("the guest agent did not start the command in time");
  }
  if (!ch->open_ok_) {
    Error e = err(ch->open_failure_.error);
    e.exit_code = ch->open_failure_.code;
    l.unlock();
    forget(ch->id());
    return e;
  }
  return ch;
}

}  // namespace sbx::daemon
