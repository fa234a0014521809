#include "net/http_parser.h"

#include "base/strings.h"

namespace sbx::net {

namespace {

bool is_tchar(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}


}  // namespace

std::optional<std::string> HttpRequestHead::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return v;
  return std::nullopt;
}

Result<std::optional<HttpRequestHead>> parse_request_head(std::string_view buf) {
  std::string_view window = buf.substr(0, kMaxRequestHead);
  size_t end = window.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    // Reject early what can never become valid, so a hostile client cannot
    // make us wait for 64 KiB of garbage.
    if (window.find('\0') != std::string_view::npos) return err("NUL in request head");
    if (buf.size() >= kMaxRequestHead) return err("request head larger than 64 KiB");
    return std::optional<HttpRequestHead>();
  }
  std::string_view head = window.substr(0, end + 2);  // keeps each line's CRLF
  HttpRequestHead r;
  r.head_size = end + 4;
  size_t pos = 0;
  bool first = true;
  while (pos < head.size()) {
    size_t eol = head.find("\r\n", pos);
    std::string_view line = head.substr(pos, eol - pos);
    pos = eol + 2;
    for (unsigned char c : line) {
      if (c == 0) return err("NUL in request head");
      if (c == '\r' || c == '\n') return err("bare CR or LF in request head");
      if (c < 0x20 && c != '\t') return err("control character in request head");
    }
    if (first) {
      first = false;
      auto sp1 = line.find(' ');
      if (sp1 == std::string_view::npos) return err("malformed request line");
      auto sp2 = line.find(' ', sp1 + 1);
      if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
        return err("malformed request line");
      r.method = std::string(line.substr(0, sp1));
      r.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
      r.version = std::string(line.substr(sp2 + 1));
      if (r.method.empty() || r.method.size() > 32) return err("bad method");
      for (unsigned char c : r.method)
        if (!is_tchar(c)) return err("bad method");
      if (r.target.empty()) return err("empty request target");
      for (unsigned char c : r.target)
        if (c <= 0x20 || c >= 0x7f) return err("bad character in request target");
      if (r.version != "HTTP/1.1" && r.version != "HTTP/1.0")
        return err("unsupported HTTP version '" + r.version.substr(0, 16) + "'");
      continue;
    }
    if (line.front() == ' ' || line.front() == '\t')
      return err("obsolete header line folding is not accepted");
    auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return err("malformed header line");
    std::string_view name = line.substr(0, colon);
    for (unsigned char c : name)
      if (!is_tchar(c)) return err("bad header name");  // also "Name :" (space)
    if (r.headers.size() >= kMaxHeaders) return err("more than 100 header fields");
    r.headers.emplace_back(std::string(name), std::string(trim_ows(line.substr(colon + 1))));
  }
  if (first) return err("empty request");
  // Two different Content-Length values (or CL with TE) are smuggling bait.
  std::optional<std::string> cl;
  bool te = false;
  for (const auto& [k, v] : r.headers) {
    if (iequals(k, "content-length")) {
      if (cl && *cl != v) return err("conflicting Content-Length headers");
      cl = v;
    }
    if (iequals(k, "transfer-encoding")) te = true;
  }
  if (cl && te) return err("both Content-Length and Transfer-Encoding");
  return std::optional<HttpRequestHead>(std::move(r));
}

Result<HostPort> parse_authority(std::string_view t, uint16_t default_port) {
  if (t.empty() || t.size() > 300) return err("bad authority");
  HostPort hp;
  std::string_view port_text;
  if (t.front() == '[') {
    auto close = t.find(']');
    if (close == std::string_view::npos || close < 2) return err("bad IPv6 authority");
    hp.host = std::string(t.substr(1, close - 1));
    auto rest = t.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return err("junk after IPv6 address");
      port_text = rest.substr(1);
      if (port_text.empty()) return err("empty port");
    }
  } else {
    auto colon = t.rfind(':');
    if (colon != std::string_view::npos) {
      if (t.find(':') != colon) return err("IPv6 addresses need brackets");
      hp.host = std::string(t.substr(0, colon));
      port_text = t.substr(colon + 1);
      if (port_text.empty()) return err("empty port");
    } else {
      hp.host = std::string(t);
    }
  }
  if (hp.host.empty()) return err("empty host");
  for (unsigned char c : hp.host)
    if (c <= 0x20 || c >= 0x7f || c == '@' || c == '/' || c == '\\')
      return err("bad character in host");
  if (port_text.empty()) {
    if (default_port == 0) return err("missing port");
    hp.port = default_port;
    return hp;
  }
  if (port_text.size() > 5) return err("bad port");
  auto n = parse_uint(port_text);
  if (!n || *n == 0 || *n > 65535) return err("bad port");
  hp.port = static_cast<uint16_t>(*n);
  return hp;
}

Result<AbsoluteUrl> parse_absolute_url(std::string_view url) {
  auto sep = url.find("://");
  if (sep == std::string_view::npos || sep == 0 || sep > 16) return err("not an absolute URL");
  AbsoluteUrl u;
  u.scheme = to_lower(url.substr(0, sep));
  if (u.scheme != "http")
    return err("only http:// URLs can be proxied in the clear (use CONNECT for " +
               u.scheme + ")");
  auto rest = url.substr(sep + 3);
  auto slash = rest.find_first_of("/?#");
  auto auth = rest.substr(0, slash);
  if (auth.find('@') != std::string_view::npos) return err("credentials in URL are not accepted");
  auto hp = parse_authority(auth, 80);
  if (!hp) return hp.error();
  u.authority = *hp;
  if (slash == std::string_view::npos) {
    u.path = "/";
  } else {
    auto p = rest.substr(slash);
    if (auto h = p.find('#'); h != std::string_view::npos) p = p.substr(0, h);
    u.path = p.empty() || p.front() != '/' ? "/" + std::string(p) : std::string(p);
  }
  return u;
}

std::string rewrite_request_head(const HttpRequestHead& head, std::string_view target) {
  std::string out = head.method + " " + std::string(target) + " " + head.version + "\r\n";
  for (const auto& [k, v] : head.headers) {
    if (iequals(k, "proxy-connection") || iequals(k, "proxy-authorization") ||
        iequals(k, "connection") || iequals(k, "keep-alive"))
      continue;
    out += k + ": " + v + "\r\n";
  }
  out += "Connection: close\r\n\r\n";
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace sbx::net
