// Writes an uncompressed "newc" cpio archive, the format the kernel unpacks
// as an initramfs. Written by hand so the initramfs needs no root, no cpio
// tool and no staging directory, and so owners, modes and mtimes are exactly
// ours (root:root, mtime 0: the archive is reproducible).
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "base/fd.h"
#include "base/result.h"

namespace sbx::image {

/// Streams entries into a newc cpio file. Paths are archive paths such as
/// "/etc/sbx/modules" (the leading slash is dropped, as the kernel expects);
/// missing parent directories are added automatically with mode 0755.
/// The file appears at its final path only when finish() succeeds.
class CpioWriter {
 public:
  /// Opens `path`.tmp for writing.
  static Result<CpioWriter> create(const std::string& path);

  CpioWriter(CpioWriter&&) noexcept = default;
  CpioWriter& operator=(CpioWriter&&) = delete;
  CpioWriter(const CpioWriter&) = delete;
  /// Removes the temporary file if finish() was never reached.
  ~CpioWriter();

  /// Adds a directory (no-op if this archive already has it).
  Result<void> add_dir(std::string_view path, uint32_t mode = 0755);
  /// Adds a regular file with the given contents.
  Result<void> add_file(std::string_view path, std::string_view bytes,
                        uint32_t mode = 0644);
  /// Adds a regular file whose contents are copied from `source_path`.
  Result<void> add_file_from(std::string_view path, const std::string& source_path,
                             uint32_t mode = 0644);
  /// Adds a symbolic link pointing at `target`.
  Result<void> add_symlink(std::string_view path, std::string_view target);
  /// Adds a character device node (e.g. /dev/console 5:1, which the kernel
  /// opens for init's stdio before anything could mount devtmpfs).
  Result<void> add_char_device(std::string_view path, uint32_t mode,
                               uint32_t major, uint32_t minor);
  /// Writes the TRAILER!!! entry, flushes and renames into place.
  Result<void> finish();

  /// Bytes written so far.
  uint64_t size() const { return offset_; }

 private:
  CpioWriter(Fd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  static Result<std::string> normalize(std::string_view path);
  Result<void> add_parents(const std::string& path);
  Result<void> write_header(const std::string& name, uint32_t mode,
                            uint64_t file_size, uint32_t rdev_major = 0,
                            uint32_t rdev_minor = 0);
  Result<void> write_bytes(std::string_view data);
  Result<void> pad4();

  Fd fd_;
  std::string path_;
  uint32_t next_ino_ = 1;
  uint64_t offset_ = 0;
  std::set<std::string> dirs_;
  std::set<std::string> names_;
  std::string buffer_;
  bool finished_ = false;
};

}  // namespace sbx::image
