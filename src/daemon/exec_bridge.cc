#include "daemon/exec_bridge.h"

#include <fcntl.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>

#include "net/relay.h"
#include "proto/api.h"
#include "proto/frame.h"

namespace sbx::daemon {

using proto::FrameType;

namespace {

// The API client's connection. Two threads write frames to it (the relay's
// output and the WINDOWs that answer stdin), so writes are serialised. The
// exec protocol has no half-close: once EXIT is out the exchange is over,
// so shutdown_write() ends the connection, which also ends the reader.
class ClientConn : public net::ClientStream {
 public:
  explicit ClientConn(Fd fd) : s_(std::move(fd)) {}
  Result<size_t> read(char* buf, size_t n) override { return s_.read(buf, n); }
  Result<void> write(std::string_view data) override {
    std::lock_guard l(mu_);
    return s_.write(data);
  }
  void shutdown_write() override { s_.abort(); }
  void abort() override { s_.abort(); }

 private:
  net::FdStream s_;
  std::mutex mu_;
};

// An exec channel as the client sees it: a byte stream of frames on
// proto::kExecStreamChannel. write() takes the client's frames (stdin, EOF,
// resize, signals, output credit); read() yields the guest's output within
// the client's credit, then EXIT, then EOF. End-to-end credit holds both
// ways: stdin waits for the guest's credit, and the guest's output credit
// goes back only once the bytes were framed for the client.
class ExecStream : public net::ClientStream {
 public:
  ExecStream(std::shared_ptr<GuestChannel> ch, net::ClientStream& client, Logger& log)
      : ch_(std::move(ch)), client_(client), log_(log) {}

  Result<size_t> read(char* buf, size_t n) override;
  Result<void> write(std::string_view data) override;
  /// The client's connection ended: kill the command (unless it exited).
  void shutdown_write() override { client_gone(); }
  void abort() override { client_gone(); }

 private:
  void client_gone();
  /// Frames the next piece of guest output (or the end) into out_.
  void fill();
  void apply(const proto::Frame& f);

  std::shared_ptr<GuestChannel> ch_;
  net::ClientStream& client_;
  Logger& log_;
  // Client -> guest: only write() touches these.
  proto::FrameDecoder dec_;
  // Guest -> client: only read() touches these.
  std::string out_;
  size_t out_pos_ = 0;
  GuestChannel::Event cur_;  // output being framed
  size_t cur_pos_ = 0;
  bool have_cur_ = false;
  // Shared by the two directions.
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t client_credit_ = proto::kInitialWindow;  // output the client accepts
  bool gone_ = false;
  std::atomic<bool> ended_{false};    // EXIT (or the failure) was framed
  std::atomic<bool> aborted_{false};  // the command was killed
};

void ExecStream::client_gone() {
  {
    std::lock_guard l(mu_);
    gone_ = true;
  }
  cv_.notify_all();
  // Makes a next_event() blocked in read() return; the command dies.
  if (!ended_ && !aborted_.exchange(true)) ch_->abort();
}

void ExecStream::fill() {
  using K = GuestChannel::Event::Kind;
  while (out_.empty()) {
    if (have_cur_) {
      size_t left = cur_.data.size() - cur_pos_;
      size_t n = 0;
      {
        std::unique_lock l(mu_);
        cv_.wait(l, [&] { return client_credit_ > 0 || gone_; });
        if (!gone_) {
          n = std::min<uint64_t>({left, client_credit_, proto::kDataChunk});
          client_credit_ -= n;
        }
      }
      if (n > 0) {
        proto::encode_into(out_, proto::kExecStreamChannel,
                           cur_.kind == K::kStdout ? FrameType::kData : FrameType::kDataErr,
                           std::string_view(cur_.data).substr(cur_pos_, n));
        cur_pos_ += n;
      }
      if (n == 0 || cur_pos_ == cur_.data.size()) {  // all framed, or nobody to take it
        ch_->consumed(cur_.data.size());
        have_cur_ = false;
      }
      continue;
    }
    auto e = ch_->next_event();
    if (e.kind == K::kStdout || e.kind == K::kStderr) {
      if (e.data.empty()) continue;
      cur_ = std::move(e);
      cur_pos_ = 0;
      have_cur_ = true;
    } else if (e.kind == K::kEof) {
      continue;  // EXIT follows
    } else if (e.kind == K::kExit) {
      proto::encode_into(out_, proto::kExecStreamChannel, FrameType::kExit, proto::to_json(e.exit));
      ended_ = true;
    } else {
      // The client sees a 125-style failure: the link or the VM went away.
      if (e.data != "aborted") log_.warn("exec ended abnormally: " + e.data);
      proto::encode_into(out_, proto::kExecStreamChannel, FrameType::kDataErr,
                         "sbx: " + e.data + "\n");
      proto::encode_into(out_, proto::kExecStreamChannel, FrameType::kExit,
                         proto::to_json(proto::ExitInfo{125, 0}));
      ended_ = true;
    }
  }
}

Result<size_t> ExecStream::read(char* buf, size_t n) {
  if (out_pos_ >= out_.size()) {
    out_.clear();
    out_pos_ = 0;
    if (ended_) return size_t{0};
    fill();
  }
  size_t k = std::min(n, out_.size() - out_pos_);
  std::copy_n(out_.data() + out_pos_, k, buf);
  out_pos_ += k;
  return k;
}

void ExecStream::apply(const proto::Frame& f) {
  switch (f.type) {
    case FrameType::kData:
      // Fails once the command ended; its output is still drained to EXIT.
      if (ch_->write_stdin(f.payload))
        (void)client_.write(proto::encode(
            proto::Frame{proto::kExecStreamChannel, FrameType::kWindow,
                         proto::encode_u32(static_cast<uint32_t>(f.payload.size()))}));
      break;
    case FrameType::kEof:
      (void)ch_->close_stdin();
      break;
    case FrameType::kResize:
      if (auto rs = proto::decode_resize(f.payload); rs) (void)ch_->resize(rs->first, rs->second);
      break;
    case FrameType::kSignal:
      if (f.payload.size() == 1) (void)ch_->signal(static_cast<unsigned char>(f.payload[0]));
      break;
    case FrameType::kWindow:
      if (auto n = proto::decode_u32(f.payload); n) {
        {
          std::lock_guard l(mu_);
          client_credit_ = std::min<uint64_t>(client_credit_ + *n, 1ull << 40);
        }
        cv_.notify_all();
      }
      break;
    default:
      break;
  }
}

Result<void> ExecStream::write(std::string_view data) {
  dec_.feed(data);
  for (;;) {
    auto f = dec_.next();
    if (!f) {
      log_.warn("exec client sent a malformed frame: " + f.error().message);
      return f.error();  // the relay tears both sides down
    }
    if (!f->has_value()) return ok();
    apply(**f);
  }
}

}  // namespace

void bridge_exec(int fd, std::string pending, std::shared_ptr<GuestChannel> ch, Logger& log) {
  // The caller keeps its fd; the relay's stream owns a duplicate of it.
  Fd dup(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
  if (!dup) {
    log.warn("exec: cannot duplicate the client connection");
    ch->abort();
    ::shutdown(fd, SHUT_RDWR);
    return;
  }
  ClientConn client(std::move(dup));
  ExecStream exec(std::move(ch), client, log);
  net::Relay relay(client, exec);
  if (!pending.empty() && !exec.write(pending)) relay.cancel();
  (void)relay.run();
  // Whatever ended the relay, the client's connection is finished.
  client.abort();
}

}  // namespace sbx::daemon
