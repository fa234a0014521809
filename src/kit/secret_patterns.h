// What a file that holds a credential looks like, by name and by content.
// Host config files are copied into sandboxes; these checks keep tokens
// out (issue 9: "files that hold tokens are never copied"). They err on the
// side of refusing: a settings file not copied is an inconvenience, a token
// copied into a guest the threat model calls hostile is a leak.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sbx::kit {

/// Why a path (relative to home) looks like a credentials file, e.g.
/// "its name contains 'credentials'"; nullopt when it does not.
std::optional<std::string> secret_name_reason(std::string_view path);

/// Why `content` looks like it holds a token, e.g. "it contains an
/// Anthropic API key (sk-ant-...)"; nullopt when it does not. Never quotes
/// the token itself.
std::optional<std::string> secret_content_reason(std::string_view content);

}  // namespace sbx::kit
