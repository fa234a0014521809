#include "kit/secret_patterns.h"

#include <array>
#include <cctype>

#include "base/strings.h"

namespace sbx::kit {

namespace {

bool token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
}

// `prefix` at a word start followed by at least `min_tail` token characters:
// "sk-" inside "task-list" is not a key, "sk-proj-abc...xyz" is.
bool has_token(std::string_view text, std::string_view prefix, size_t min_tail,
               bool ignore_case = false) {
  std::string hay = ignore_case ? to_lower(text) : std::string(text);
  std::string needle = ignore_case ? to_lower(prefix) : std::string(prefix);
  for (size_t at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1)) {
    if (at > 0 && token_char(hay[at - 1])) continue;
    size_t tail = 0;
    for (size_t i = at + needle.size(); i < hay.size() && token_char(hay[i]); ++i) ++tail;
    if (tail >= min_tail) return true;
  }
  return false;
}

// `key` used as a key with a literal value: `api_key = "..."`, `"api_key":
// "..."`. A mere mention (`env_key = "OPENAI_API_KEY"`) is not a token.
bool has_assignment(const std::string& lower, std::string_view key) {
  for (size_t at = lower.find(key); at != std::string::npos; at = lower.find(key, at + 1)) {
    size_t i = at + key.size();
    if (i < lower.size() && (lower[i] == '"' || lower[i] == '\'')) ++i;
    while (i < lower.size() && (lower[i] == ' ' || lower[i] == '\t')) ++i;
    if (i >= lower.size() || (lower[i] != '=' && lower[i] != ':')) continue;
    ++i;
    while (i < lower.size() &&
           (lower[i] == ' ' || lower[i] == '\t' || lower[i] == '"' || lower[i] == '\''))
      ++i;
    size_t value = 0;
    while (i < lower.size() && lower[i] != '"' && lower[i] != '\'' && lower[i] != '\n' &&
           lower[i] != ',' && lower[i] != '}')
      ++value, ++i;
    if (value >= 8) return true;
  }
  return false;
}

}  // namespace

std::optional<std::string> secret_name_reason(std::string_view path) {
  std::string lower = to_lower(path);
  size_t slash = lower.rfind('/');
  std::string base = slash == std::string::npos ? lower : lower.substr(slash + 1);
  static const std::array<const char*, 10> words = {"credential", "auth",    "token",  "secret",
                                                    "password",   "passwd",  "cookie", "session",
                                                    "private",    "keychain"};
  for (const char* w : words)
    if (lower.find(w) != std::string::npos) return std::string("its name contains '") + w + "'";
  static const std::array<const char*, 6> suffixes = {".pem", ".key",   ".p12",
                                                      ".pfx", ".netrc", ".npmrc"};
  for (const char* s : suffixes)
    if (ends_with(base, s)) return std::string("its name ends in '") + s + "'";
  if (base == ".env" || starts_with(base, ".env.") || starts_with(base, "id_rsa") ||
      starts_with(base, "id_ed25519") || starts_with(base, "id_ecdsa"))
    return "it is named like a key or environment file ('" + base + "')";
  return std::nullopt;
}

std::optional<std::string> secret_content_reason(std::string_view content) {
  struct Token {
    const char* prefix;
    size_t min_tail;
    const char* what;
  };
  static const std::array<Token, 11> tokens = {{
      {"sk-ant-", 16, "an Anthropic API key (sk-ant-...)"},
      {"sk-", 20, "an API key (sk-...)"},
      {"ghp_", 20, "a GitHub token (ghp_...)"},
      {"gho_", 20, "a GitHub OAuth token (gho_...)"},
      {"ghu_", 20, "a GitHub token (ghu_...)"},
      {"ghs_", 20, "a GitHub token (ghs_...)"},
      {"ghr_", 20, "a GitHub token (ghr_...)"},
      {"github_pat_", 20, "a GitHub token (github_pat_...)"},
      {"AIza", 30, "a Google API key (AIza...)"},
      {"xoxb-", 20, "a Slack token (xoxb-...)"},
      {"glpat-", 20, "a GitLab token (glpat-...)"},
  }};
  for (auto& t : tokens)
    if (has_token(content, t.prefix, t.min_tail)) return std::string("it contains ") + t.what;
  std::string lower = to_lower(content);
  if (has_token(content, "bearer ", 20, true)) return std::string("it contains a bearer token");
  static const std::array<const char*, 5> keys = {"\"access_token\"", "\"refresh_token\"",
                                                  "\"id_token\"", "private key-----", "_authtoken"};
  for (const char* k : keys)
    if (lower.find(k) != std::string::npos) return std::string("it contains '") + k + "'";
  static const std::array<const char*, 5> assigned = {"api_key", "api-key", "apikey",
                                                      "client_secret", "password"};
  for (const char* k : assigned)
    if (has_assignment(lower, k)) return std::string("it sets '") + k + "' to a value";
  return std::nullopt;
}

}  // namespace sbx::kit
