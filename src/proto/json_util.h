// Internal to proto: the one place JSON text from a peer becomes a value.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "base/result.h"

namespace sbx::proto {

/// Parses `text` as a JSON object without exceptions; anything else (bad
/// syntax, an array, a scalar) is an error naming `what`.
inline Result<nlohmann::json> parse_json_object(std::string_view text, const char* what) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return err(std::string("malformed ") + what + ": not a JSON object");
  return j;
}

}  // namespace sbx::proto
