// Listeners for tests: a TCP server on 127.0.0.1:<ephemeral> (or a unix
// socket) that runs a handler for each connection on a thread of its own,
// counts connections and stops in its destructor. Usable from unit tests
// under src/ (it needs only sbx_base) and from the suites under tests/.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/fd.h"
#include "base/result.h"

namespace sbx::testing {

/// Runs `handler(fd)` for every connection accepted on a listening socket;
/// the server owns each connection and closes it when the handler returns.
/// The destructor stops accepting, gives running handlers a few seconds to
/// finish, then shuts their connections down so that none can hang the test.
class SocketServer {
 public:
  using Handler = std::function<void(int fd)>;
  SocketServer(const SocketServer&) = delete;
  SocketServer& operator=(const SocketServer&) = delete;
  ~SocketServer();

  /// Whether the socket is listening (false if bind or listen failed).
  bool ok() const { return listen_.valid(); }
  /// Connections accepted so far.
  int accepted() const { return accepted_.load(); }
  /// Waits until at least `n` connections were accepted; false on timeout.
  bool wait_accepted(int n, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  /// Stops listening (new connections are refused) and waits for the
  /// handlers, as the destructor does. Idempotent.
  void stop();

 protected:
  SocketServer(Fd listening, Handler handler);

 private:
  void accept_loop();
  void serve(int fd);

  Fd listen_;
  Fd wake_read_, wake_write_;  // a byte here ends accept_loop
  Handler handler_;
  std::atomic<int> accepted_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  std::set<int> open_;  // connections whose handler still runs
  int running_ = 0;
  std::vector<std::thread> workers_;
  std::thread acceptor_;
  bool stopped_ = false;
};

/// A SocketServer on 127.0.0.1 with a port of the kernel's choosing.
class LoopbackServer : public SocketServer {
 public:
  /// Serves each connection with `handler`.
  explicit LoopbackServer(Handler handler);
  /// Accepts and closes connections at once (a port that is in use).
  LoopbackServer();
  uint16_t port() const { return port_; }

 private:
  LoopbackServer(std::pair<Fd, uint16_t> listening, Handler handler);
  uint16_t port_ = 0;
};

/// A SocketServer on a unix socket at `path`.
class UnixServer : public SocketServer {
 public:
  UnixServer(const std::string& path, Handler handler);
};

/// Echoes what `fd` sends until EOF (a Handler).
void echo_until_eof(int fd);

/// A port on 127.0.0.1 that was free a moment ago (nothing listens on it).
uint16_t free_loopback_port();

/// A client socket connected to 127.0.0.1:port; an error (errno
/// ECONNREFUSED when nothing listens) names the port.
Result<Fd> connect_loopback(uint16_t port);

}  // namespace sbx::testing
