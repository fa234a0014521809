// JSON text in and out of proto: the one place JSON from a peer becomes a
// value, and the one place a value becomes JSON text for the API.
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

/// Serialises `j` (pretty-printed with `indent` >= 0). Never throws on
/// invalid UTF-8: strings from a guest (console lines, hosts, paths) may
/// carry any byte, and an invalid sequence becomes U+FFFD instead of
/// failing the whole answer.
inline std::string dump_json(const nlohmann::json& j, int indent = -1) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

/// Reads `key` into `out` when present and not null; a present value of the
/// wrong type is an error naming the field.
template <class T>
Result<void> json_field(const nlohmann::json& j, const char* key, T& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return ok();
  try {
    out = it->get<T>();
  } catch (const nlohmann::json::exception&) {
    return err(std::string("field '") + key + "' has the wrong type");
  }
  return ok();
}

/// As json_field, but a missing (or null) field is an error naming it.
template <class T>
Result<void> json_required(const nlohmann::json& j, const char* key, T& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return err(std::string("missing field '") + key + "'");
  return json_field(j, key, out);
}

}  // namespace sbx::proto
