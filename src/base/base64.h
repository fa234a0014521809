// Base64 (RFC 4648, standard alphabet, padded): how arbitrary bytes travel
// inside JSON bodies of the daemon API (a kit's files) and HTTP Basic credentials. Decoding is
// strict, since the text comes from a peer: no whitespace, no missing padding.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace sbx {

/// `bytes` as padded base64.
std::string base64_encode(std::string_view bytes);
/// The bytes of padded base64 `text`; anything else is an error.
Result<std::string> base64_decode(std::string_view text);

}  // namespace sbx
