// Sequential byte sources for the image importer: a whole string, a byte
// range of an open file (a member of an outer tar), and one that hashes
// what passes through it, so digests are checked while streaming.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "image/sha256.h"

namespace sbx::image {

/// Bytes read front to back. read() returns 0 only at the end.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  /// Reads up to `n` bytes into `buf`; 0 means the source is exhausted.
  virtual Result<size_t> read(char* buf, size_t n) = 0;
};

/// Reads from a string the caller keeps alive.
class StringSource : public ByteSource {
 public:
  explicit StringSource(std::string_view data) : data_(data) {}
  Result<size_t> read(char* buf, size_t n) override;

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

/// Reads bytes [offset, offset+length) of an open file with pread, so
/// several ranges of one descriptor can be read independently.
class FileRangeSource : public ByteSource {
 public:
  /// `fd` must outlive this source; `what` names it in errors.
  FileRangeSource(int fd, uint64_t offset, uint64_t length, std::string what)
      : fd_(fd), pos_(offset), left_(length), what_(std::move(what)) {}
  Result<size_t> read(char* buf, size_t n) override;

 private:
  int fd_;
  uint64_t pos_;
  uint64_t left_;
  std::string what_;
};

/// Passes another source through unchanged while hashing it (SHA-256)
/// and counting its bytes.
class HashingSource : public ByteSource {
 public:
  explicit HashingSource(ByteSource& inner) : inner_(inner) {}
  Result<size_t> read(char* buf, size_t n) override;
  /// Reads what is left (so the digest covers the whole source).
  Result<void> drain();
  /// "sha256:<hex>" of everything read; call once, at the end.
  std::string digest() { return "sha256:" + sha_.hex_digest(); }
  /// Bytes read so far.
  uint64_t bytes() const { return bytes_; }

 private:
  ByteSource& inner_;
  Sha256 sha_;
  uint64_t bytes_ = 0;
};

}  // namespace sbx::image
