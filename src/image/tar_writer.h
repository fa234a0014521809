// Writes ustar archives in memory: the boot files the importer adds to an
// image as one last layer, and the archives tests build; and the headers of
// archives written as a stream (sbx template archives). It writes names
// verbatim (long ones as GNU 'L' records) and checks nothing, so tests can
// also write the hostile archives the reader must refuse.
#pragma once

#include <cstdint>
#include <string>

namespace sbx::image {

/// Attributes of one entry written by TarWriter.
struct TarAttr {
  uint32_t mode = 0644;
  uint32_t uid = 0;
  uint32_t gid = 0;
};

/// Accumulates a tar archive; finish() returns the bytes.
class TarWriter {
 public:
  using Attr = TarAttr;
  /// A regular file.
  void file(const std::string& path, const std::string& data, Attr a = {});
  /// A directory (mode 0755 unless given).
  void dir(const std::string& path, Attr a = {0755, 0, 0});
  /// A symbolic link to `target`.
  void symlink(const std::string& path, const std::string& target, Attr a = {0777, 0, 0});
  /// A hard link to `target` (an earlier entry's path).
  void hardlink(const std::string& path, const std::string& target, Attr a = {});
  /// A character device.
  void chardev(const std::string& path, uint32_t major, uint32_t minor, Attr a = {0666, 0, 0});
  /// Any header with raw fields, for hostile-input tests.
  void raw(char type, const std::string& path, const std::string& link, const std::string& data,
           Attr a = {});
  /// The archive with its two zero end blocks.
  std::string finish();

  /// The header of a regular file of `size` bytes, for writers that stream
  /// the data themselves (sizes of 8 GiB and more in GNU base-256).
  static std::string file_header(const std::string& path, uint64_t size, Attr a = {});
  /// The zero bytes that pad `size` bytes of data to a whole block.
  static std::string padding(uint64_t size);
  /// The two zero blocks that end an archive.
  static std::string end_blocks();

 private:
  std::string out_;
};

}  // namespace sbx::image
