// The byte-stream seam the egress proxy and the daemon's relays work over:
// a guest channel, a host socket and an upstream connection all look alike.
#pragma once

#include <cstddef>
#include <string_view>

#include "base/fd.h"
#include "base/result.h"

namespace sbx::net {

/// A connected, blocking byte stream (a guest channel or a socket).
class ClientStream {
 public:
  virtual ~ClientStream() = default;
  /// Reads up to `n` bytes into `buf`; 0 means EOF (the peer half-closed).
  virtual Result<size_t> read(char* buf, size_t n) = 0;
  /// Writes all of `data`.
  virtual Result<void> write(std::string_view data) = 0;
  /// Half-close: the peer sees EOF; reading continues.
  virtual void shutdown_write() = 0;
  /// Tears the stream down. Must make a read() or write() blocked in another
  /// thread return (with EOF or an error): the relay relies on it.
  virtual void abort() = 0;
};

/// A ClientStream over a socket (socketpair in tests, or a unix/TCP socket).
class FdStream : public ClientStream {
 public:
  explicit FdStream(Fd fd) : fd_(std::move(fd)) {}
  Result<size_t> read(char* buf, size_t n) override;
  /// send() with MSG_NOSIGNAL: a vanished peer is an error, never SIGPIPE.
  Result<void> write(std::string_view data) override;
  void shutdown_write() override;
  void abort() override;
  int fd() const { return fd_.get(); }

 private:
  Fd fd_;
};

}  // namespace sbx::net
