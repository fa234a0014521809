// Host name normalisation: the single canonical spelling that policy rules,
// log entries and matching all use, so "Bücher.Example." and
// "xn--bcher-kva.example" are the same host.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace sbx::net {

/// Lower-cases, drops one trailing dot, converts Unicode labels to punycode
/// (IDNA 2008 via libidn2, non-transitional as browsers do) and validates:
/// labels of 1-63 characters from [a-z0-9-_], not starting or ending with
/// '-', 253 characters at most. Underscores are accepted because real
/// service names use them (_dmarc, some CDN hosts).
Result<std::string> normalize_host(std::string_view host);

/// Whether `host` equals `domain` or is a subdomain of it (both normalised).
bool is_subdomain_or_self(std::string_view host, std::string_view domain);
/// Whether `host` is a strict subdomain of `domain` ("a.x.com" of "x.com").
bool is_strict_subdomain(std::string_view host, std::string_view domain);

}  // namespace sbx::net
