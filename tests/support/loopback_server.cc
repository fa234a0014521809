#include "support/loopback_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace sbx::testing {

namespace {

using namespace std::chrono_literals;

// How long stop() lets running handlers finish before cutting them off.
constexpr auto kHandlerGrace = 5s;

sockaddr_in loopback_address(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// A socket bound to 127.0.0.1:0 and its port; listening when `backlog` > 0.
std::pair<Fd, uint16_t> bind_loopback(int backlog) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return {Fd(), 0};
  auto a = loopback_address(0);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return {Fd(), 0};
  if (backlog > 0 && ::listen(fd.get(), backlog) != 0) return {Fd(), 0};
  socklen_t len = sizeof a;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0) return {Fd(), 0};
  return {std::move(fd), ntohs(a.sin_port)};
}

}  // namespace

SocketServer::SocketServer(Fd listening, Handler handler)
    : listen_(std::move(listening)), handler_(std::move(handler)) {
  auto wake = make_pipe();
  if (!listen_ || !wake) {
    listen_.reset();
    return;
  }
  wake_read_ = std::move(wake->first);
  wake_write_ = std::move(wake->second);
  acceptor_ = std::thread([this] { accept_loop(); });
}

SocketServer::~SocketServer() { stop(); }

void SocketServer::accept_loop() {
  for (;;) {
    pollfd p[2] = {{listen_.get(), POLLIN, 0}, {wake_read_.get(), POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (p[1].revents) return;
    int c = ::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    ++accepted_;
    std::lock_guard<std::mutex> lock(mu_);
    open_.insert(c);
    ++running_;
    workers_.emplace_back([this, c] { serve(c); });
  }
}

void SocketServer::serve(int fd) {
  if (handler_) handler_(fd);
  std::lock_guard<std::mutex> lock(mu_);
  // Closed under the lock: stop() may be shutting it down right now.
  open_.erase(fd);
  ::close(fd);
  --running_;
  cv_.notify_all();
}

bool SocketServer::wait_accepted(int n, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (accepted_.load() < n) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    // Accepting is on another thread and signals nothing: a short poll.
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

void SocketServer::stop() {
  if (acceptor_.joinable()) {
    (void)write_all(wake_write_.get(), "x");
    acceptor_.join();
  }
  listen_.reset();  // refused from now on
  std::vector<std::thread> workers;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, kHandlerGrace, [this] { return running_ == 0; }))
      for (int fd : open_) ::shutdown(fd, SHUT_RDWR);  // a handler stuck in I/O
    workers.swap(workers_);
  }
  for (auto& w : workers) w.join();
}

LoopbackServer::LoopbackServer(Handler handler)
    : LoopbackServer(bind_loopback(128), std::move(handler)) {}

LoopbackServer::LoopbackServer() : LoopbackServer(Handler()) {}

LoopbackServer::LoopbackServer(std::pair<Fd, uint16_t> listening, Handler handler)
    : SocketServer(std::move(listening.first), std::move(handler)), port_(listening.second) {}

namespace {
Fd unix_listening(const std::string& path) {
  auto l = unix_listen(path);
  return l ? std::move(*l) : Fd();
}
}  // namespace

UnixServer::UnixServer(const std::string& path, Handler handler)
    : SocketServer(unix_listening(path), std::move(handler)) {}

void echo_until_eof(int fd) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    if (!write_all(fd, std::string_view(buf, static_cast<size_t>(n)))) return;
  }
}

uint16_t free_loopback_port() { return bind_loopback(0).second; }

Result<Fd> connect_loopback(uint16_t port) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return errno_error("socket");
  sockaddr_in a = loopback_address(port);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
    return errno_error("connect 127.0.0.1:" + std::to_string(port));
  return fd;
}

}  // namespace sbx::testing
