// Reading files a kit or a user's home names, with limits: these files come
// from users, downloads and agents, so nothing is read without a bound and
// nothing is read through a symlink out of the directory it must stay in.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"

namespace sbx::kit {

/// A regular file's bytes and permission bits.
struct BoundedFile {
  std::string content;
  uint32_t mode = 0;  ///< permission bits (st_mode & 07777)
};

/// Reads the regular file at `path`, which (symlinks resolved) must lie
/// inside the directory `root` (itself resolved). Fails, without reading,
/// for a file over `max_bytes`, a path that resolves outside `root`, or
/// anything that is not a regular file (FIFOs are opened non-blocking so
/// they cannot hang the reader). The check is made on the descriptor that
/// is read, so swapping a path component meanwhile does not escape it.
Result<BoundedFile> read_file_within(const std::string& root, const std::string& path,
                                     uint64_t max_bytes);

/// Whether `path` is `root` or lies below it (both absolute and normal).
bool path_within(const std::string& root, const std::string& path);

}  // namespace sbx::kit
