// A user's kit on the wire: `sbx create --kit DIR` reads and checks the kit,
// then sends its bytes (kit.yaml and the files its `files[].source` name) in
// the create request; sandboxd keeps its own copy and checks it again. The
// peer may be hostile, so every count and size is bounded here, before the
// kit parser sees anything. Bytes travel as base64: kit files need not be
// UTF-8.
//
//   "kit": {"yaml": BASE64, "files": [{"path": "files/a.json", "data": BASE64}]}
#pragma once

#include <cstddef>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "base/result.h"

namespace sbx::proto {

/// Bounds on a kit bundle (the kit parser's own, kit/kit_parser.h).
inline constexpr size_t kMaxBundleYamlBytes = 64 * 1024;
inline constexpr size_t kMaxBundleFileBytes = 256 * 1024;
inline constexpr size_t kMaxBundleFiles = 64;
inline constexpr size_t kMaxBundleFileTotal = 1024 * 1024;  ///< all files together
inline constexpr size_t kMaxBundlePath = 1024;

/// kit.yaml and the files it names, by path relative to the kit's directory.
struct KitBundle {
  std::string yaml;
  std::map<std::string, std::string> files;
};

/// Whether `path` may name a file of a bundle: relative, at most
/// kMaxBundlePath bytes, no empty, "." or ".." component, no NUL or '\\',
/// and not kit.yaml itself.
bool valid_bundle_path(std::string_view path);

/// The bundle's JSON value.
nlohmann::json kit_bundle_json(const KitBundle& b);
/// Reads and bounds a bundle from its JSON value; errors name what is wrong.
Result<KitBundle> parse_kit_bundle(const nlohmann::json& j);

}  // namespace sbx::proto
