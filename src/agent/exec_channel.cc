#include "agent/exec_channel.h"

#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "agent/session_kill.h"

namespace sbx::agent {

using proto::FrameType;

namespace {

enum Slot { kStdin, kStdout, kStderr, kPty };

}  // namespace

std::unique_ptr<ExecChannel> ExecChannel::open(uint32_t id, const proto::ExecRequest& req,
                                               const ExecSpawner& spawner, ChannelContext& ctx) {
  auto res = spawner.spawn(req);
  if (auto* of = std::get_if<proto::OpenFailure>(&res)) {
    ctx.open_fail(id, of->code, of->error);
    return nullptr;
  }
  auto& sp = std::get<SpawnedExec>(res);
  ctx.out.send(id, FrameType::kOpenOk, nlohmann::json{{"pid", sp.pid}}.dump());
  if (req.detach) {
    // The process lives on unsupervised; SIGCHLD reaps it eventually.
    ctx.out.send(id, FrameType::kExit, proto::to_json(proto::ExitInfo{0, 0}));
    return nullptr;
  }
  return std::unique_ptr<ExecChannel>(new ExecChannel(id, ctx, std::move(sp), req.tty));
}

ExecChannel::ExecChannel(uint32_t id, ChannelContext& ctx, SpawnedExec sp, bool tty)
    : Channel(id, ctx),
      pid_(sp.pid),
      tty_(tty),
      stdin_fd_(std::move(sp.stdin_fd)),
      stdout_fd_(std::move(sp.stdout_fd)),
      stderr_fd_(std::move(sp.stderr_fd)),
      pty_(std::move(sp.pty)) {}

bool ExecChannel::accepts_input() const {
  return !in_closed_ && !flow_.input_eof() && !(tty_ && pty_hup_);
}

void ExecChannel::on_eof() {
  flow_.set_input_eof();
  // A pty has no half-close: closing the master would hang up the session.
  // Host EOF on a tty channel only stops further input.
  if (!flow_.has_input()) close_stdin();
}

void ExecChannel::close_stdin() {
  if (tty_ || !stdin_fd_.valid()) return;
  stdin_fd_.reset();
  in_closed_ = true;
}

void ExecChannel::on_resize(std::string_view payload) {
  auto rc = proto::decode_resize(payload);
  if (!rc) {
    log(rc.error().message);
    return;
  }
  if (!tty_ || !pty_.valid()) return;
  winsize ws{};
  ws.ws_row = rc->first;
  ws.ws_col = rc->second;
  (void)ioctl(pty_.get(), TIOCSWINSZ, &ws);  // the kernel sends SIGWINCH
}

void ExecChannel::on_signal(std::string_view payload) {
  if (payload.size() != 1) {
    log("malformed SIGNAL frame");
    return;
  }
  int sig = static_cast<unsigned char>(payload[0]);
  if (sig < 1 || sig > 64) {
    log("invalid signal " + std::to_string(sig));
    return;
  }
  if (exited_) return;
  if (kill(-pid_, sig) < 0 && errno == ESRCH) (void)kill(pid_, sig);
}

void ExecChannel::abort() {
  if (pid_ > 0) {
    // Even after the leader exited, its session may live on (background
    // jobs holding the output pipe open).
    if (!exited_) (void)kill(pid_, SIGKILL);
    kill_session(pid_, SIGKILL);
  }
  mark_closed();  // the fds close with the channel; SIGCHLD reaps the zombie
}

void ExecChannel::write_input() {
  int fd = tty_ ? pty_.get() : stdin_fd_.get();
  WriteOutcome w;
  if (fd < 0)
    w.failed = true;
  else
    w = flow_.write_input(fd, [](int f, const void* p, size_t n) { return ::write(f, p, n); });
  uint64_t credit = w.written;
  if (w.failed) {
    // EPIPE (stdin closed by the child), EIO (pty gone): input is dropped.
    credit += flow_.discard_input();
    if (tty_) {
      pty_hup_ = true;
    } else {
      stdin_fd_.reset();
      in_closed_ = true;
    }
  }
  credit_back(credit);
  if (flow_.input_eof() && !flow_.has_input()) close_stdin();
}

void ExecChannel::add_poll_fds(PollSet& set, bool link_has_room) {
  bool can_read = link_has_room && flow_.send_credit() > 0;
  auto add = [&](const Fd& fd, short ev, int slot) {
    if (ev && fd.valid()) set.add(id(), fd.get(), ev, slot);
  };
  if (tty_) {
    short ev = 0;
    if (can_read && !pty_eof_) ev |= POLLIN;
    if (flow_.has_input() && !pty_hup_) ev |= POLLOUT;
    add(pty_, ev, kPty);
    return;
  }
  if (can_read) {
    add(stdout_fd_, POLLIN, kStdout);
    add(stderr_fd_, POLLIN, kStderr);
  }
  if (flow_.has_input()) add(stdin_fd_, POLLOUT, kStdin);
}

void ExecChannel::on_ready(int slot, short events, short revents) {
  if (slot == kStdin) {
    write_input();
  } else if (slot == kPty) {
    if (revents & (POLLIN | POLLHUP | POLLERR) && (events & POLLIN)) read_output(kPty);
    if (revents & (POLLHUP | POLLERR) && !pty_hup_) {
      // The slave side is gone: input has nowhere to go.
      pty_hup_ = true;
      credit_back(flow_.discard_input());
    } else if (revents & POLLOUT) {
      write_input();
    }
  } else {
    read_output(slot);
  }
}

void ExecChannel::read_output(int slot) {
  Fd& fd = slot == kStdout ? stdout_fd_ : slot == kStderr ? stderr_fd_ : pty_;
  if (!fd.valid() || flow_.send_credit() == 0) return;
  ssize_t n = read_to_host(fd.get(), slot == kStderr ? FrameType::kDataErr : FrameType::kData);
  if (n > 0) return;
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
  // EOF, or EIO on a pty master: the slave side has been closed everywhere.
  if (n < 0 && !(slot == kPty && errno == EIO)) log(std::string("read: ") + strerror(errno));
  if (slot == kPty)
    pty_eof_ = true;
  else
    fd.reset();
}

bool ExecChannel::on_child_exit(pid_t pid, int status) {
  if (pid != pid_) return false;
  exited_ = true;
  if (WIFEXITED(status)) {
    exit_ = proto::ExitInfo{WEXITSTATUS(status), 0};
  } else if (WIFSIGNALED(status)) {
    exit_ = proto::ExitInfo{128 + WTERMSIG(status), WTERMSIG(status)};
  }
  return true;
}

bool ExecChannel::output_done() const {
  return tty_ ? pty_eof_ : (!stdout_fd_.valid() && !stderr_fd_.valid());
}

void ExecChannel::finish_if_done() {
  if (closed() || !exited_ || !output_done()) return;
  send(FrameType::kEof, "");
  send(FrameType::kExit, proto::to_json(exit_));
  mark_closed();
}

}  // namespace sbx::agent
