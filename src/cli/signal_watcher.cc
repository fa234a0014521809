#include "cli/signal_watcher.h"

#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>

namespace sbx::cli {

Result<SignalWatcher> SignalWatcher::watch(std::initializer_list<int> signals) {
  sigset_t set, old;
  sigemptyset(&set);
  for (int s : signals) sigaddset(&set, s);
  if (int e = pthread_sigmask(SIG_BLOCK, &set, &old); e != 0)
    return errno_error("pthread_sigmask", e);
  Fd fd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!fd) {
    int e = errno;
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    return errno_error("signalfd", e);
  }
  return SignalWatcher(std::move(fd), old);
}

SignalWatcher::SignalWatcher(SignalWatcher&& o) noexcept
    : fd_(std::move(o.fd_)), old_(o.old_), restore_(o.restore_) {
  o.restore_ = false;
}

SignalWatcher::~SignalWatcher() {
  if (restore_) pthread_sigmask(SIG_SETMASK, &old_, nullptr);
}

std::optional<int> SignalWatcher::next() {
  signalfd_siginfo info;
  for (;;) {
    ssize_t n = ::read(fd_.get(), &info, sizeof info);
    if (n == static_cast<ssize_t>(sizeof info)) return static_cast<int>(info.ssi_signo);
    if (n < 0 && errno == EINTR) continue;
    return std::nullopt;
  }
}

}  // namespace sbx::cli
