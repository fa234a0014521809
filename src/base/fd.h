// RAII owner of a file descriptor.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "base/result.h"

namespace sbx {

/// Owns one file descriptor and closes it on destruction.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) reset(std::exchange(o.fd_, -1));
    return *this;
  }
  ~Fd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  explicit operator bool() const { return valid(); }
  /// Gives up ownership and returns the descriptor.
  int release() { return std::exchange(fd_, -1); }
  /// Closes the current descriptor (if any) and takes `fd`.
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

/// Writes all of `data`, retrying on EINTR and short writes (blocking fds).
Result<void> write_all(int fd, std::string_view data);
/// Reads up to `max` bytes; returns an empty string at EOF.
Result<std::string> read_some(int fd, size_t max);
/// Sets or clears O_NONBLOCK.
Result<void> set_nonblocking(int fd, bool on);
/// Sets FD_CLOEXEC.
Result<void> set_cloexec(int fd, bool on);

/// A connected pair of unix stream sockets.
Result<std::pair<Fd, Fd>> socket_pair();
/// A pipe: {read end, write end}, both close-on-exec.
Result<std::pair<Fd, Fd>> make_pipe();

/// Connects a unix stream socket to `path`.
Result<Fd> unix_connect(const std::string& path);
/// Binds and listens on a unix stream socket at `path` (removing a stale one).
Result<Fd> unix_listen(const std::string& path, int backlog = 64);

}  // namespace sbx
