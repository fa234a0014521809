// A bounded reader for tar streams that come from untrusted images: ustar,
// pax extended headers and GNU long names. Paths are normalised and checked
// here (no absolute paths, no "..", bounded lengths and entry counts), so
// every consumer sees only relative names that stay below their root.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/result.h"
#include "image/byte_source.h"

namespace sbx::image {

/// What a tar entry is.
enum class TarType { kFile, kDir, kSymlink, kHardlink, kCharDev, kBlockDev, kFifo };

/// One entry, with its pax/GNU overrides already applied.
struct TarEntry {
  TarType type = TarType::kFile;
  /// Normalised relative path: no leading "/" or "./", no "." or ".."
  /// components, no trailing "/". "" is the archive's root directory.
  std::string path;
  /// Symlink target (verbatim) or hardlink target (normalised like path).
  std::string link;
  uint32_t mode = 0;  ///< permission bits incl. setuid/setgid/sticky (07777)
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t size = 0;  ///< data bytes (regular files only; 0 otherwise)
  int64_t mtime = 0;
  uint32_t dev_major = 0;
  uint32_t dev_minor = 0;
};

/// Bounds on what one archive may make the reader hold or do.
struct TarLimits {
  size_t max_entries = 2'000'000;
  size_t max_path = 4096;           ///< bytes of a path or link target
  size_t max_components = 256;      ///< path depth
  size_t max_ext_header = 1 << 20;  ///< bytes of one pax or GNU long-name header
  uint64_t max_file = 1ULL << 40;   ///< bytes of one member
};

/// Normalises an archive path as TarEntry::path describes; an error for an
/// absolute path, a ".." component, a NUL or one over the limits.
Result<std::string> normalize_tar_path(std::string_view raw, const TarLimits& limits);

/// Reads entries one at a time from a ByteSource.
class TarReader {
 public:
  explicit TarReader(ByteSource& src, TarLimits limits = {}) : src_(src), limits_(limits) {}

  /// The next entry, or nullopt at the end of the archive. Skips whatever
  /// of the previous entry's data was not read.
  Result<std::optional<TarEntry>> next();
  /// Reads up to `n` bytes of the current entry's data; 0 at its end.
  Result<size_t> read_data(char* buf, size_t n);
  /// Reads the current entry's whole data, refused if over `max` bytes.
  Result<std::string> read_all(size_t max);
  /// Bytes consumed from the source so far; right after next(), the offset
  /// of the entry's data (used to index an outer archive's members).
  uint64_t offset() const { return offset_; }

 private:
  Result<bool> read_block(char* block);  // false at a clean end of stream
  Result<void> skip(uint64_t n);
  Result<std::string> read_ext(uint64_t size);

  ByteSource& src_;
  TarLimits limits_;
  uint64_t data_left_ = 0;  // of the current entry
  uint64_t pad_left_ = 0;   // padding up to the next 512-byte block
  size_t entries_ = 0;
  uint64_t offset_ = 0;
  bool done_ = false;
};

}  // namespace sbx::image
