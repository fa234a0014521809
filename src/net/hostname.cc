#include "net/hostname.h"

#include <idn2.h>

#include <cstdlib>
#include <memory>

#include "base/strings.h"

namespace sbx::net {

namespace {
bool ascii(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return false;
  return true;
}

Result<void> validate(std::string_view h) {
  if (h.empty()) return err("empty host name");
  if (h.size() > 253) return err("host name longer than 253 characters");
  size_t start = 0;
  while (start <= h.size()) {
    size_t dot = h.find('.', start);
    if (dot == std::string_view::npos) dot = h.size();
    std::string_view label = h.substr(start, dot - start);
    if (label.empty()) return err("empty label in host name");
    if (label.size() > 63) return err("label longer than 63 characters");
    if (label.front() == '-' || label.back() == '-')
      return err("label '" + std::string(label) + "' starts or ends with '-'");
    for (unsigned char c : label) {
      bool okc = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
      if (!okc) {
        std::string shown = c >= 0x20 && c < 0x7f ? std::string(1, static_cast<char>(c))
                                                  : "\\x" + hex_encode(std::string(1, static_cast<char>(c)));
        return err("invalid character '" + shown + "' in host name");
      }
    }
    start = dot + 1;
  }
  return ok();
}
}  // namespace

Result<std::string> normalize_host(std::string_view host) {
  if (host.size() > 1024) return err("host name too long");
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (host.empty()) return err("empty host name");
  std::string out;
  if (ascii(host)) {
    out = to_lower(host);
  } else {
    std::string in(host);
    if (in.find('\0') != std::string::npos) return err("NUL in host name");
    char* p = nullptr;
    int rc = idn2_to_ascii_8z(in.c_str(), &p, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
    std::unique_ptr<char, decltype(&free)> owned(p, &free);
    if (rc != IDN2_OK)
      return err(std::string("invalid internationalised name: ") + idn2_strerror(rc));
    out = to_lower(p);
  }
  if (auto v = validate(out); !v) return v.error();
  return out;
}

bool is_strict_subdomain(std::string_view host, std::string_view domain) {
  return host.size() > domain.size() + 1 && ends_with(host, domain) &&
         host[host.size() - domain.size() - 1] == '.';
}

bool is_subdomain_or_self(std::string_view host, std::string_view domain) {
  return host == domain || is_strict_subdomain(host, domain);
}

}  // namespace sbx::net
