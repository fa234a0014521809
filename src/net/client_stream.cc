#include "net/client_stream.h"

#include <sys/socket.h>

#include <cerrno>

namespace sbx::net {

Result<size_t> FdStream::read(char* buf, size_t n) {
  while (true) {
    ssize_t r = ::recv(fd_.get(), buf, n, 0);
    if (r >= 0) return static_cast<size_t>(r);
    if (errno != EINTR) return errno_error("recv");
  }
}

Result<void> FdStream::write(std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("send");
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return ok();
}

void FdStream::shutdown_write() { ::shutdown(fd_.get(), SHUT_WR); }
void FdStream::abort() { ::shutdown(fd_.get(), SHUT_RDWR); }

}  // namespace sbx::net
