// Delivers signals as readable events on a file descriptor (signalfd), so
// the exec loop can poll() for them instead of using async handlers and
// globals. The previous signal mask is restored on destruction.
#pragma once

#include <signal.h>

#include <initializer_list>
#include <optional>

#include "base/fd.h"
#include "base/result.h"

namespace sbx::cli {

/// Owns a signalfd for a set of signals, blocked while the object lives.
class SignalWatcher {
 public:
  /// Blocks `signals` for this thread and opens a signalfd for them.
  static Result<SignalWatcher> watch(std::initializer_list<int> signals);
  SignalWatcher(SignalWatcher&& o) noexcept;
  SignalWatcher& operator=(SignalWatcher&&) = delete;
  SignalWatcher(const SignalWatcher&) = delete;
  ~SignalWatcher();

  /// The descriptor to poll for POLLIN.
  int fd() const { return fd_.get(); }
  /// Reads one pending signal number, or nullopt if none is pending.
  std::optional<int> next();

 private:
  SignalWatcher(Fd fd, const sigset_t& old) : fd_(std::move(fd)), old_(old) {}
  Fd fd_;
  sigset_t old_{};
  bool restore_ = true;
};

}  // namespace sbx::cli
