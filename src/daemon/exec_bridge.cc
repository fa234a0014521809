#include "daemon/exec_bridge.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "proto/api.h"
#include "proto/frame.h"

namespace sbx::daemon {

using proto::FrameType;

namespace {

// State shared by the two relay directions.
struct Shared {
  std::mutex mu;
  std::condition_variable cv;
  uint64_t client_credit = proto::kInitialWindow;  // output the client accepts
  bool client_gone = false;
  bool done = false;
  std::mutex write_mu;
};

Result<void> send_frame(Shared& s, int fd, FrameType t, std::string_view payload) {
  std::string b;
  proto::encode_into(b, proto::kExecStreamChannel, t, payload);
  std::lock_guard l(s.write_mu);
  return write_all(fd, b);
}

}  // namespace

void bridge_exec(int fd, std::string pending, std::shared_ptr<GuestChannel> ch, Logger& log) {
  Shared s;
  // Client -> guest: stdin, EOF, resize, signals, and output credit.
  std::thread up([&] {
    proto::FrameDecoder dec;
    dec.feed(pending);
    char buf[65536];
    for (;;) {
      for (;;) {
        auto f = dec.next();
        if (!f) {
          log.warn("exec client sent a malformed frame: " + f.error().message);
          goto gone;
        }
        if (!f->has_value()) break;
        auto& fr = **f;
        switch (fr.type) {
          case FrameType::kData: {
            auto r = ch->write_stdin(fr.payload);
            if (!r) break;  // the command ended; keep draining until EXIT
            (void)send_frame(s, fd, FrameType::kWindow,
                             proto::encode_u32(static_cast<uint32_t>(fr.payload.size())));
            break;
          }
          case FrameType::kEof:
            (void)ch->close_stdin();
            break;
          case FrameType::kResize:
            if (auto rs = proto::decode_resize(fr.payload); rs) (void)ch->resize(rs->first, rs->second);
            break;
          case FrameType::kSignal:
            if (fr.payload.size() == 1) (void)ch->signal(static_cast<unsigned char>(fr.payload[0]));
            break;
          case FrameType::kWindow:
            if (auto n = proto::decode_u32(fr.payload); n) {
              std::lock_guard l(s.mu);
              s.client_credit = std::min<uint64_t>(s.client_credit + *n, 1ull << 40);
              s.cv.notify_all();
            }
            break;
          default:
            break;
        }
      }
      {
        std::lock_guard l(s.mu);
        if (s.done) return;
      }
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      dec.feed(std::string_view(buf, static_cast<size_t>(n)));
    }
  gone:
    std::lock_guard l(s.mu);
    if (!s.done) s.client_gone = true;
    s.cv.notify_all();
  });

  // Guest -> client: output within the client's credit, then the exit code.
  // If the client vanishes, abort() makes next_event() return an error.
  std::thread watchdog([&] {
    std::unique_lock l(s.mu);
    s.cv.wait(l, [&] { return s.client_gone || s.done; });
    if (s.client_gone && !s.done) {
      l.unlock();
      ch->abort();
    }
  });
  for (;;) {
    auto e = ch->next_event();
    using K = GuestChannel::Event::Kind;
    if (e.kind == K::kStdout || e.kind == K::kStderr) {
      std::string_view rest = e.data;
      bool ok_write = true;
      while (!rest.empty()) {
        size_t n;
        {
          std::unique_lock l(s.mu);
          s.cv.wait(l, [&] { return s.client_credit > 0 || s.client_gone; });
          if (s.client_gone) {
            ok_write = false;
            break;
          }
          n = std::min<size_t>(rest.size(), s.client_credit);
          s.client_credit -= n;
        }
        if (!send_frame(s, fd, e.kind == K::kStdout ? FrameType::kData : FrameType::kDataErr,
                        rest.substr(0, n))) {
          ok_write = false;
          break;
        }
        rest.remove_prefix(n);
      }
      ch->consumed(e.data.size());
      if (!ok_write) {
        ch->abort();
      }
      continue;
    }
    if (e.kind == K::kEof) continue;  // EXIT follows
    if (e.kind == K::kExit) {
      (void)send_frame(s, fd, FrameType::kExit, proto::to_json(e.exit));
    } else {
      // The client sees a 125-style failure: the link or the VM went away.
      proto::ExitInfo x{125, 0};
      if (e.data != "aborted") log.warn("exec ended abnormally: " + e.data);
      (void)send_frame(s, fd, FrameType::kDataErr, "sbx: " + e.data + "\n");
      (void)send_frame(s, fd, FrameType::kExit, proto::to_json(x));
    }
    break;
  }
  {
    std::lock_guard l(s.mu);
    s.done = true;
    s.cv.notify_all();
  }
  // Unblocks the reader; the client has its EXIT already.
  ::shutdown(fd, SHUT_RDWR);
  up.join();
  watchdog.join();
}

}  // namespace sbx::daemon
