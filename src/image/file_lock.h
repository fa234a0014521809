// An exclusive advisory lock on a file (flock), held for the object's life.
// Cache builders take one so two processes never build the same artifact at
// once; the kernel drops it if the holder dies, so a crash never wedges it.
#pragma once

#include <string>

#include "base/fd.h"
#include "base/result.h"

namespace sbx::image {

/// Holds flock(LOCK_EX) on a lock file until destroyed.
class FileLock {
 public:
  /// Creates `path` if needed and blocks until the lock is ours.
  static Result<FileLock> acquire(const std::string& path);
  /// Like acquire() but returns an error at once if someone else holds it.
  static Result<FileLock> try_acquire(const std::string& path);

  FileLock(FileLock&&) noexcept = default;
  FileLock& operator=(FileLock&&) noexcept = default;

 private:
  explicit FileLock(Fd fd) : fd_(std::move(fd)) {}
  Fd fd_;  // closing it releases the lock
};

}  // namespace sbx::image
