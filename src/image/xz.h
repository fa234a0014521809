// XZ decompression through the `xz` tool (xz-utils), streaming file to file so
// a 60 MiB vmlinux never has to sit in memory twice.
#pragma once

#include <string>

#include "base/result.h"

namespace sbx::image {

/// Decompresses the XZ data readable from `in_fd` (at its current offset)
/// into `out_path`. With `single_stream`, stops after the first stream and
/// ignores whatever follows it (as in a bzImage, where the payload is followed
/// by other data).
Result<void> xz_decompress_fd(int in_fd, const std::string& out_path,
                              bool single_stream);

/// Decompresses an .xz file into `out_path`.
Result<void> xz_decompress_file(const std::string& in_path,
                                const std::string& out_path);

}  // namespace sbx::image
