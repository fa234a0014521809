#include "daemon/fake_guest.h"

#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "proto/messages.h"

namespace sbx::daemon::testing {

using namespace std::chrono_literals;
using proto::FrameType;

bool FakeGuest::handshake() {
  char buf[4096];
  for (;;) {
    ssize_t n = read_chunk(buf, sizeof buf);
    if (n <= 0) return false;
    decoder_.feed(std::string_view(buf, static_cast<size_t>(n)));
    if (!decoder_.resync(FrameType::kHello)) continue;
    auto f = decoder_.next();
    if (!f) return false;
    if (!f->has_value()) continue;
    auto h = proto::parse_hello((*f)->payload);
    if (!h) return false;
    return send(proto::kHelloChannel, FrameType::kHelloAck, proto::hello_payload(h->nonce, "{}"));
  }
}

bool FakeGuest::send(uint32_t channel, FrameType type, std::string_view payload) {
  std::string b;
  proto::encode_into(b, channel, type, payload);
  return write_all(fd_.get(), b).ok();
}

proto::Frame FakeGuest::next() {
  char buf[65536];
  for (;;) {
    auto f = decoder_.next();
    if (!f) return proto::Frame{0, FrameType::kClose, "decode error"};
    if (f->has_value()) {
      // Repeated HELLOs from the handshake are not what a test waits for.
      if ((*f)->type == FrameType::kHello) continue;
      return **f;
    }
    ssize_t n = read_chunk(buf, sizeof buf);
    if (n < 0) return proto::Frame{0, FrameType::kClose, "timeout"};
    if (n == 0) return proto::Frame{0, FrameType::kClose, "eof"};
    decoder_.feed(std::string_view(buf, static_cast<size_t>(n)));
  }
}

proto::Frame FakeGuest::next_non_window() {
  for (;;) {
    auto f = next();
    if (f.type != FrameType::kWindow) return f;
    if (auto n = proto::decode_u32(f.payload)) window_bytes_ += *n;
  }
}

proto::Frame FakeGuest::open_egress(uint32_t channel, std::string_view payload) {
  if (!send(channel, FrameType::kOpen, payload)) return proto::Frame{0, FrameType::kClose, "eof"};
  return next_non_window();
}

std::string FakeGuest::read_until_end(uint32_t channel, bool* closed) {
  std::string out;
  for (;;) {
    auto f = next_non_window();
    if (f.channel == 0 && f.type == FrameType::kClose) {  // socket gone
      if (closed) *closed = true;
      return out;
    }
    if (f.channel != channel) continue;
    if (f.type == FrameType::kData) {
      out += f.payload;
      send(channel, FrameType::kWindow, proto::encode_u32(static_cast<uint32_t>(f.payload.size())));
    } else if (f.type == FrameType::kEof || f.type == FrameType::kClose) {
      if (closed) *closed = f.type == FrameType::kClose;
      return out;
    }
  }
}

std::string FakeGuest::read_at_least(uint32_t channel, size_t n) {
  std::string out;
  while (out.size() < n) {
    auto f = next_non_window();
    if (f.channel == 0 && f.type == FrameType::kClose) return out;
    if (f.channel != channel) continue;
    if (f.type == FrameType::kEof || f.type == FrameType::kClose) return out;
    if (f.type != FrameType::kData) continue;
    out += f.payload;
    send(channel, FrameType::kWindow, proto::encode_u32(static_cast<uint32_t>(f.payload.size())));
  }
  return out;
}

bool FakeGuest::wait_close(uint32_t channel) {
  for (;;) {
    auto f = next_non_window();
    if (f.channel == 0 && f.type == FrameType::kClose) return false;
    if (f.channel == channel && f.type == FrameType::kClose) return true;
  }
}

ssize_t FakeGuest::read_chunk(char* buf, size_t size) {
  pollfd p{fd_.get(), POLLIN, 0};
  for (;;) {
    int rc = ::poll(&p, 1, static_cast<int>(read_timeout_.count()));
    if (rc < 0 && errno == EINTR) continue;
    if (rc == 0) return -1;
    if (rc < 0) return 0;
    ssize_t n = ::read(fd_.get(), buf, size);
    if (n < 0 && errno == EINTR) continue;
    return n < 0 ? 0 : n;
  }
}

// --- For the hostile-guest tests.

bool FakeGuest::raw(std::string_view bytes) { return write_all(fd_.get(), bytes).ok(); }

GuestChannel::Event next_event_within(GuestChannel& ch, std::chrono::milliseconds limit,
                                      bool* timed_out) {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  *timed_out = false;
  // A watchdog aborts the channel, which ends a blocked next_event().
  std::thread watchdog([&] {
    std::unique_lock<std::mutex> lock(mu);
    if (!cv.wait_for(lock, limit, [&] { return done; })) {
      *timed_out = true;
      ch.abort();
    }
  });
  auto e = ch.next_event();
  {
    std::lock_guard<std::mutex> lock(mu);
    done = true;
  }
  cv.notify_all();
  watchdog.join();
  return e;
}

LinkPair::~LinkPair() {
  if (link) link->close();
}

LinkPair connect_fake_guest(Logger& log) {
  LinkPair p;
  auto sp = socket_pair();
  if (!sp) return p;
  p.guest = std::make_unique<FakeGuest>(std::move(sp->second));
  bool shook = false;
  std::thread t([&] { shook = p.guest->handshake(); });
  auto link = AgentLink::handshake(
      std::move(sp->first), 5s, [] { return true; }, log);
  t.join();
  if (link && shook) p.link = *link;
  return p;
}

}  // namespace sbx::daemon::testing
