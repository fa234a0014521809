#include "cli/exec_session.h"

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "cli/signal_watcher.h"
#include "cli/terminal.h"
#include "proto/messages.h"

namespace sbx::cli {

namespace {
using proto::FrameType;
// Stop reading stdin while this much is still waiting to go out, so a slow
// daemon cannot make us buffer without bound.
constexpr size_t kOutboxHighWater = 256u << 10;
constexpr size_t kSocketRead = 64u << 10;
// After this many forwarded interrupts the user clearly wants out.
constexpr int kInterruptsBeforeAbort = 3;
}  // namespace

ExecSession::ExecSession(client::ExecStream stream, ExecIo io, ExecSessionOptions opts)
    : stream_(std::move(stream)), io_(io), opts_(opts) {}

void ExecSession::queue(FrameType type, std::string_view payload) {
  proto::encode_into(outbox_, proto::kExecStreamChannel, type, payload);
}

void ExecSession::write_output(int fd, bool& broken, std::string_view data) {
  // A closed stdout (e.g. `| head`) must not stall the command: drop output
  // but keep granting credit so the remote side runs to its exit, and give
  // the command the SIGPIPE it would get locally (sbx ignores SIGPIPE so a
  // raw terminal is always restored).
  if (broken) return;
  if (write_all(fd, data)) return;
  broken = true;
  if (errno == EPIPE) {
    char s = static_cast<char>(SIGPIPE);
    queue(FrameType::kSignal, std::string_view(&s, 1));
  }
}

Result<void> ExecSession::handle_frames() {
  uint64_t consumed = 0;
  for (;;) {
    auto f = decoder_.next();
    if (!f) return f.error().wrap("exec stream");
    if (!*f) break;
    proto::Frame& fr = **f;
    if (fr.channel != proto::kExecStreamChannel)
      return err("exec stream: frame on unexpected channel " + std::to_string(fr.channel));
    switch (fr.type) {
      case FrameType::kData:
        write_output(io_.out, out_broken_, fr.payload);
        consumed += fr.payload.size();
        break;
      case FrameType::kDataErr:
        write_output(io_.err, err_broken_, fr.payload);
        consumed += fr.payload.size();
        break;
      case FrameType::kWindow: {
        auto n = proto::decode_u32(fr.payload);
        if (!n) return n.error().wrap("exec stream WINDOW");
        send_credit_ += *n;
        break;
      }
      case FrameType::kExit: {
        auto e = proto::parse_exit(fr.payload);
        if (!e) return e.error().wrap("exec stream EXIT");
        exit_code_ = e->exit_code;
        return ok();
      }
      case FrameType::kClose:
        return err("sandboxd closed the exec stream before the command exited");
      case FrameType::kEof:  // output finished; EXIT follows
      default:
        break;
    }
  }
  if (consumed > 0) {
    // Credit back exactly what was written out, possibly in several frames
    // if a huge batch exceeded what one u32 can say.
    while (consumed > 0) {
      uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(consumed, UINT32_MAX));
      queue(FrameType::kWindow, proto::encode_u32(n));
      consumed -= n;
    }
  }
  return ok();
}

Result<void> ExecSession::read_socket() {
  char buf[kSocketRead];
  for (;;) {
    ssize_t n = ::read(stream_.fd.get(), buf, sizeof buf);
    if (n > 0) {
      decoder_.feed(std::string_view(buf, static_cast<size_t>(n)));
      auto r = handle_frames();
      if (!r || exit_code_ >= 0) return r;
      continue;
    }
    if (n == 0) return err("connection to sandboxd lost before the command exited");
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return ok();
    return errno_error("connection to sandboxd lost before the command exited");
  }
}

void ExecSession::flush_socket() {
  // A write failure is not reported here: the daemon may have sent EXIT and
  // closed, and the read side (EXIT or EOF) gives the right verdict.
  if (write_dead_) {
    outbox_.clear();
    return;
  }
  while (!outbox_.empty()) {
    ssize_t n = ::send(stream_.fd.get(), outbox_.data(), outbox_.size(), MSG_NOSIGNAL);
    if (n > 0) {
      outbox_.erase(0, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    write_dead_ = true;
    outbox_.clear();
    return;
  }
}

void ExecSession::read_stdin() {
  size_t want = static_cast<size_t>(std::min<uint64_t>(proto::kDataChunk, send_credit_));
  std::string buf(want, '\0');
  ssize_t n;
  do {
    n = ::read(io_.in, buf.data(), want);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
  if (n <= 0) {
    // EOF, or an error such as EIO on a hung-up terminal: either way no
    // more input will come, and the command should see end of input.
    stdin_open_ = false;
    queue(FrameType::kEof, {});
    return;
  }
  buf.resize(static_cast<size_t>(n));
  send_credit_ -= static_cast<uint64_t>(n);
  stdin_sent_ += static_cast<uint64_t>(n);
  queue(FrameType::kData, buf);
}

void ExecSession::handle_signal(int sig) {
  if (sig == SIGWINCH) {
    if (opts_.tty_fd >= 0)
      if (auto ws = window_size(opts_.tty_fd))
        queue(FrameType::kResize, proto::encode_resize(ws->first, ws->second));
    return;
  }
  if ((sig == SIGINT || sig == SIGTERM) && ++forwarded_interrupts_ >= kInterruptsBeforeAbort) {
    aborted_ = true;
    return;
  }
  char s = static_cast<char>(sig);
  queue(FrameType::kSignal, std::string_view(&s, 1));
}

Result<int> ExecSession::run() {
  if (!stream_.fd) return err("no exec stream to drive");
  if (auto r = set_nonblocking(stream_.fd.get(), true); !r) return r.error();
  if (!stream_.pending.empty()) {
    decoder_.feed(stream_.pending);
    stream_.pending.clear();
    if (auto r = handle_frames(); !r) return r.error();
  }
  if (!opts_.forward_stdin) {
    stdin_open_ = false;
    queue(FrameType::kEof, {});
  }
  while (exit_code_ < 0) {
    if (aborted_) return err("interrupted; the command may still be running in the sandbox");
    pollfd fds[3];
    nfds_t n = 0;
    fds[n++] = {stream_.fd.get(), static_cast<short>(POLLIN | (outbox_.empty() ? 0 : POLLOUT)), 0};
    int stdin_idx = -1, sig_idx = -1;
    if (stdin_open_ && send_credit_ > 0 && outbox_.size() < kOutboxHighWater) {
      stdin_idx = static_cast<int>(n);
      fds[n++] = {io_.in, POLLIN, 0};
    }
    if (opts_.signals) {
      sig_idx = static_cast<int>(n);
      fds[n++] = {opts_.signals->fd(), POLLIN, 0};
    }
    int rc = ::poll(fds, n, -1);
    if (rc < 0) {
      if (errno == EINTR) continue;
      return errno_error("poll");
    }
    if (fds[0].revents & POLLOUT) flush_socket();
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      if (auto r = read_socket(); !r) return r.error();
      if (exit_code_ >= 0) break;
    }
    if (stdin_idx >= 0 && (fds[stdin_idx].revents & (POLLIN | POLLHUP | POLLERR)))
      read_stdin();
    if (sig_idx >= 0 && (fds[sig_idx].revents & POLLIN))
      while (auto s = opts_.signals->next()) handle_signal(*s);
    // Try to send at once; POLLOUT only matters when the socket is full.
    flush_socket();
  }
  // Best effort: return the last credit / EOF before closing.
  flush_socket();
  return exit_code_;
}

}  // namespace sbx::cli
