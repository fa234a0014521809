#include "agent/boot_config.h"

#include <cctype>

#include "base/strings.h"

namespace sbx::agent {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A workspace path must be absolute and free of "." / ".." components: it is
// joined under /newroot, and ".." would let it escape.
bool clean_absolute(const std::string& p) {
  if (p.empty() || p[0] != '/') return false;
  for (auto& part : split(p, '/'))
    if (part == "." || part == "..") return false;
  return true;
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    char c = static_cast<char>(hi * 16 + lo);
    if (c == '\0') return std::nullopt;
    out.push_back(c);
    i += 2;
  }
  return out;
}

BootConfig parse_boot_config(std::string_view cmdline,
                             std::vector<std::string>* warnings) {
  BootConfig c;
  auto warn = [&](const std::string& m) {
    if (warnings) warnings->push_back(m);
  };
  auto parse_id = [&](const std::string& key, const std::string& v,
                      std::optional<uint32_t>& out) {
    auto n = parse_uint(v);
    if (!n || *n > 0xFFFFFFFEu) {
      warn("ignoring " + key + "=" + v + ": not a valid id");
      return;
    }
    out = static_cast<uint32_t>(*n);
  };
  // Words are separated by whitespace; our values never contain spaces (the
  // host percent-encodes them), so kernel-style quoting is not needed.
  size_t i = 0;
  while (i < cmdline.size()) {
    while (i < cmdline.size() && isspace(static_cast<unsigned char>(cmdline[i]))) ++i;
    size_t j = i;
    while (j < cmdline.size() && !isspace(static_cast<unsigned char>(cmdline[j]))) ++j;
    std::string_view word = cmdline.substr(i, j - i);
    i = j;
    if (!starts_with(word, "sbx.")) continue;
    size_t eq = word.find('=');
    if (eq == std::string_view::npos) {
      warn("ignoring '" + std::string(word) + "': no value");
      continue;
    }
    std::string key(word.substr(0, eq));
    std::string value(word.substr(eq + 1));
    if (key == "sbx.name") {
      c.name = value;
    } else if (key == "sbx.root") {
      if (starts_with(value, "/dev/"))
        c.root = value;
      else
        warn("ignoring sbx.root=" + value + ": not a /dev path");
    } else if (key == "sbx.ws_path") {
      auto d = percent_decode(value);
      if (!d)
        warn("ignoring sbx.ws_path=" + value + ": bad percent-encoding");
      else if (!clean_absolute(*d))
        warn("ignoring sbx.ws_path=" + *d + ": not a clean absolute path");
      else
        c.ws_path = *d;
    } else if (key == "sbx.ws_tag") {
      c.ws_tag = value;
    } else if (key == "sbx.ws_fs") {
      if (value == "9p" || value == "virtiofs")
        c.ws_fs = value;
      else
        warn("ignoring sbx.ws_fs=" + value + ": expected 9p or virtiofs");
    } else if (key == "sbx.docker_disk") {
      if (starts_with(value, "/dev/") && value.find("..") == std::string::npos)
        c.docker_disk = value;
      else
        warn("ignoring sbx.docker_disk=" + value + ": not a /dev path");
    } else if (key == "sbx.docker") {
      if (value == "boot" || value == "socket")
        c.docker_mode = value;
      else
        warn("ignoring sbx.docker=" + value + ": expected boot or socket");
    } else if (key == "sbx.proxy") {
      // Only a plain http URL without spaces or quotes reaches dockerd's env.
      if (starts_with(value, "http://") && value.size() < 256 &&
          value.find_first_of("\"'`$") == std::string::npos)
        c.proxy = value;
      else
        warn("ignoring sbx.proxy=" + value + ": expected http://HOST:PORT");
    } else if (key == "sbx.uid") {
      parse_id(key, value, c.uid);
    } else if (key == "sbx.gid") {
      parse_id(key, value, c.gid);
    } else {
      warn("ignoring unknown parameter " + key);
    }
  }
  if (c.ws_path.empty() != c.ws_tag.empty())
    warn("workspace needs both sbx.ws_path and sbx.ws_tag; not mounting one");
  return c;
}

}  // namespace sbx::agent
