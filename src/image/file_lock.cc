#include "image/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>

namespace sbx::image {
Result<FileLock> FileLock::acquire(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd) return errno_error("open lock file " + path);
  while (::flock(fd.get(), LOCK_EX) < 0) {
    if (errno != EINTR) return errno_error("flock " + path);
  }
  return FileLock(std::move(fd));
}

Result<FileLock> FileLock::try_acquire(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd) return errno_error("open lock file " + path);
  while (::flock(fd.get(), LOCK_EX | LOCK_NB) < 0) {
    if (errno == EWOULDBLOCK) return err("lock " + path + " is held by another process");
    if (errno != EINTR) return errno_error("flock " + path);
  }
  return FileLock(std::move(fd));
}

}  // namespace sbx::image
