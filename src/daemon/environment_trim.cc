#include "daemon/environment_trim.h"

#include <stdlib.h>
#include <string.h>

#include <array>

extern char** environ;

namespace sbx::daemon {

namespace {

constexpr std::array kKept = {
    "PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TERM",
    "NO_COLOR",
    // Where the host's trusted CAs are (upstream verification, guest_provisioner).
    "SSL_CERT_FILE", "SSL_CERT_DIR", "NODE_EXTRA_CA_CERTS", "REQUESTS_CA_BUNDLE", "PIP_CERT",
    "CURL_CA_BUNDLE", "GIT_SSL_CAINFO", "npm_config_cafile", "NPM_CONFIG_CAFILE",
    // Upstream connections go through the host's proxy when it has one.
    "http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "no_proxy", "NO_PROXY", "all_proxy",
    "ALL_PROXY",
    // Sanitizer builds of the tests.
    "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"};

constexpr std::array kKeptPrefixes = {"SBX_", "XDG_", "LC_"};

}  // namespace

bool keeps_variable(std::string_view name) {
  for (const char* k : kKept)
    if (name == k) return true;
  for (const char* p : kKeptPrefixes)
    if (name.size() > strlen(p) && name.substr(0, strlen(p)) == p) return true;
  return false;
}

std::vector<std::string> trim_environment() {
  std::vector<std::pair<std::string, std::string>> kept;
  std::vector<std::string> removed;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    size_t eq = kv.find('=');
    std::string_view name = kv.substr(0, eq);
    if (eq != std::string_view::npos && keeps_variable(name)) {
      kept.emplace_back(name, kv.substr(eq + 1));
      continue;
    }
    removed.emplace_back(name);
    // The strings of the initial environment stay in memory (and in
    // /proc/self/environ) after clearenv(): overwrite the value itself.
    if (eq != std::string_view::npos) explicit_bzero(*e + eq + 1, kv.size() - eq - 1);
  }
  ::clearenv();
  for (const auto& [name, value] : kept) ::setenv(name.c_str(), value.c_str(), 1);
  return removed;
}

}  // namespace sbx::daemon
