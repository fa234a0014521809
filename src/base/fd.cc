#include "base/fd.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sbx {

void Fd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

Result<void> write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("write");
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return ok();
}

Result<std::string> read_some(int fd, size_t max) {
  std::string buf(max, '\0');
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), max);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("read");
    }
    buf.resize(static_cast<size_t>(n));
    return buf;
  }
}

Result<void> set_nonblocking(int fd, bool on) {
  int fl = ::fcntl(fd, F_GETFL);
  if (fl < 0) return errno_error("fcntl(F_GETFL)");
  fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
  if (::fcntl(fd, F_SETFL, fl) < 0) return errno_error("fcntl(F_SETFL)");
  return ok();
}

Result<void> set_cloexec(int fd, bool on) {
  int fl = ::fcntl(fd, F_GETFD);
  if (fl < 0) return errno_error("fcntl(F_GETFD)");
  fl = on ? (fl | FD_CLOEXEC) : (fl & ~FD_CLOEXEC);
  if (::fcntl(fd, F_SETFD, fl) < 0) return errno_error("fcntl(F_SETFD)");
  return ok();
}

Result<std::pair<Fd, Fd>> socket_pair() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    return errno_error("socketpair");
  return std::pair<Fd, Fd>{Fd(sv[0]), Fd(sv[1])};
}

Result<std::pair<Fd, Fd>> make_pipe() {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return errno_error("pipe2");
  return std::pair<Fd, Fd>{Fd(p[0]), Fd(p[1])};
}

namespace {
Result<sockaddr_un> unix_addr(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path))
    return err("unix socket path too long (" + std::to_string(path.size()) +
               " bytes, max " + std::to_string(sizeof(addr.sun_path) - 1) +
               "): " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}
}  // namespace

Result<Fd> unix_connect(const std::string& path) {
  auto addr = unix_addr(path);
  if (!addr) return addr.error();
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return errno_error("socket");
  for (;;) {
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&*addr),
                  sizeof(sockaddr_un)) == 0)
      return fd;
    if (errno == EINTR) continue;
    return errno_error("connect " + path);
  }
}

Result<Fd> unix_listen(const std::string& path, int backlog) {
  auto addr = unix_addr(path);
  if (!addr) return addr.error();
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return errno_error("socket");
  ::unlink(path.c_str());
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&*addr),
             sizeof(sockaddr_un)) < 0)
    return errno_error("bind " + path);
  if (::listen(fd.get(), backlog) < 0) return errno_error("listen " + path);
  return fd;
}

}  // namespace sbx
