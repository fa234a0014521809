// Incremental SHA-256, used to key cached artifacts by their inputs.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"

namespace sbx::image {

/// Incremental SHA-256 hasher (OpenSSL EVP underneath).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  /// Feeds raw bytes.
  void update(std::string_view data);
  /// Feeds a length-prefixed field, so ("ab","c") and ("a","bc") differ.
  void update_field(std::string_view data);
  /// Feeds the contents of a file.
  Result<void> update_file(const std::string& path);
  /// Lower-case hex digest; the hasher must not be used afterwards.
  std::string hex_digest();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

/// Hex SHA-256 of a byte string.
std::string sha256_hex(std::string_view data);

}  // namespace sbx::image
