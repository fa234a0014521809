// Small string helpers shared by every component.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace sbx {

/// Splits on `sep`, keeping empty fields.
std::vector<std::string> split(std::string_view s, char sep);
/// Removes leading and trailing ASCII whitespace.
std::string trim(std::string_view s);
bool starts_with(std::string_view s, std::string_view prefix);
bool ends_with(std::string_view s, std::string_view suffix);
std::string to_lower(std::string_view s);
/// Joins with `sep`.
std::string join(const std::vector<std::string>& parts, std::string_view sep);
/// Lower-case hex of raw bytes.
std::string hex_encode(std::string_view bytes);

/// Parses a memory size such as "512m", "8g", "8GiB", "1024" (MiB when no
/// unit is given, as Docker's --memory does not accept that; we do).
/// Returns bytes.
Result<uint64_t> parse_size(std::string_view s);
/// Formats bytes as a short human size ("512 MiB", "8 GiB").
std::string format_size(uint64_t bytes);
/// Parses a base-10 unsigned integer, rejecting junk and overflow.
Result<uint64_t> parse_uint(std::string_view s);

/// Percent-encodes every byte except ASCII letters, digits, "-_.~" and the
/// characters in `also_plain` (URL path segments, kernel command lines).
std::string percent_encode(std::string_view s, std::string_view also_plain = "");

/// Returns `s` as valid UTF-8: each byte that does not start a well-formed
/// sequence (stray continuation bytes, overlongs, surrogates, code points
/// above U+10FFFF, truncated sequences) becomes U+FFFD. Text from a guest
/// passes through this before it reaches JSON.
std::string sanitize_utf8(std::string_view s);

/// Quotes a string for a POSIX shell.
std::string shell_quote(std::string_view s);

}  // namespace sbx
