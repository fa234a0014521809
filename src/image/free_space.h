// Free-space checks before work that writes a lot (a template build, a
// save): refusing early with a clear message beats a full disk half-way.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/result.h"

namespace sbx::image {

/// Bytes available to this user on the file system holding `dir`; nullopt
/// when it cannot be told.
std::optional<uint64_t> free_bytes(const std::string& dir);

/// Fails with kInsufficientStorage when `available` is below `need`,
/// naming `what` is being done, where, and what to do about it.
Result<void> require_space(const std::string& what, const std::string& dir, uint64_t need,
                           std::optional<uint64_t> available);

/// require_space() with free_bytes(dir); an unknown amount does not block.
Result<void> check_free_space(const std::string& what, const std::string& dir, uint64_t need);

}  // namespace sbx::image
