#include "agent/agent_harness.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>

#include "base/fd.h"

#ifndef SBX_AGENT_PATH
#error "SBX_AGENT_PATH must name the sbx-agent binary"
#endif

namespace sbx::agent::testing {

using proto::Frame;
using proto::FrameType;
using Clock = std::chrono::steady_clock;

proto::ExecRequest exec(std::vector<std::string> argv) {
  proto::ExecRequest r;
  r.argv = std::move(argv);
  return r;
}

AgentHarness::AgentHarness(std::vector<std::string> extra_args) {
  auto sp = socket_pair();
  if (!sp) return;
  SpawnOptions o;
  o.argv = {SBX_AGENT_PATH, "--serve-fd", "0"};
  o.argv.insert(o.argv.end(), extra_args.begin(), extra_args.end());
  o.stdin_fd = sp->second.get();
  o.die_with_parent = true;
  auto child = ChildProcess::spawn(o);
  if (!child) return;
  agent_ = std::move(*child);
  link_ = std::move(sp->first);
}

AgentHarness::~AgentHarness() {
  link_.reset();
  if (agent_.running()) (void)agent_.wait_for(std::chrono::seconds(3));
}

void AgentHarness::send(uint32_t channel, FrameType type, std::string_view payload) {
  std::string buf;
  proto::encode_into(buf, channel, type, payload);
  send_raw(buf);
}

void AgentHarness::send_raw(std::string_view bytes) {
  if (link_.valid()) (void)write_all(link_.get(), bytes);
}

std::optional<Frame> AgentHarness::recv(std::chrono::milliseconds timeout) {
  if (!queued_.empty()) {
    Frame f = std::move(queued_.front());
    queued_.pop_front();
    return f;
  }
  auto deadline = Clock::now() + timeout;
  for (;;) {
    auto r = decoder_.next();
    if (!r) return std::nullopt;  // the agent sent garbage: fail the test
    if (r->has_value()) return std::move(**r);
    if (eof_ || !link_.valid()) return std::nullopt;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd p{link_.get(), POLLIN, 0};
    int n = poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    char buf[65536];
    ssize_t got = read(link_.get(), buf, sizeof buf);
    if (got <= 0) {
      eof_ = true;
      continue;
    }
    decoder_.feed(std::string_view(buf, static_cast<size_t>(got)));
  }
}

std::optional<Frame> AgentHarness::recv_on(uint32_t channel,
                                           std::chrono::milliseconds timeout) {
  for (auto it = queued_.begin(); it != queued_.end(); ++it) {
    if (it->channel == channel) {
      Frame f = std::move(*it);
      queued_.erase(it);
      return f;
    }
  }
  auto deadline = Clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return std::nullopt;
    // Read straight from the decoder/socket (the queue was searched above).
    std::deque<Frame> saved;
    saved.swap(queued_);
    auto f = recv(left);
    queued_.swap(saved);
    if (!f) return std::nullopt;
    if (f->channel == channel) return f;
    queued_.push_back(std::move(*f));
  }
}

std::optional<std::string> AgentHarness::handshake(const std::string& nonce,
                                                   std::string_view prefix) {
  std::string bytes(prefix);
  proto::encode_into(bytes, proto::kHelloChannel, FrameType::kHello,
                     proto::hello_payload(nonce, R"({"version":1})"));
  send_raw(bytes);
  auto deadline = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < deadline) {
    auto f = recv_on(proto::kHelloChannel, std::chrono::seconds(10));
    if (!f) return std::nullopt;
    if (f->type != FrameType::kHelloAck) continue;
    auto h = proto::parse_hello(f->payload);
    if (h && h->nonce == nonce) return h->json;
  }
  return std::nullopt;
}

void AgentHarness::open(uint32_t channel, const proto::ExecRequest& req) {
  send(channel, FrameType::kOpen, proto::to_json(req));
}

void AgentHarness::collect(uint32_t channel, ExecOutcome& o,
                           std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (!o.got_exit) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return;
    auto f = recv_on(channel, left);
    if (!f) return;
    switch (f->type) {
      case FrameType::kOpenOk: o.opened = true; break;
      case FrameType::kOpenFail: {
        auto of = proto::parse_open_failure(f->payload);
        o.failure = of ? *of : proto::OpenFailure{"unparsable OPEN_FAIL", -1};
        return;
      }
      case FrameType::kData:
      case FrameType::kDataErr:
        (f->type == FrameType::kData ? o.out : o.err) += f->payload;
        send(channel, FrameType::kWindow,
             proto::encode_u32(static_cast<uint32_t>(f->payload.size())));
        break;
      case FrameType::kEof: o.got_eof = true; break;
      case FrameType::kExit: {
        auto e = proto::parse_exit(f->payload);
        if (e) o.exit = *e;
        o.got_exit = true;
        break;
      }
      default: break;  // WINDOW for stdin etc.
    }
  }
}

ExecOutcome AgentHarness::run(uint32_t channel, const proto::ExecRequest& req,
                              const std::string& input, bool send_eof,
                              std::chrono::milliseconds timeout) {
  ExecOutcome o;
  open(channel, req);
  if (!input.empty()) send(channel, FrameType::kData, input);
  if (send_eof) send(channel, FrameType::kEof, "");
  collect(channel, o, timeout);
  return o;
}

}  // namespace sbx::agent::testing
