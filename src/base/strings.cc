#include "base/strings.h"

#include <cctype>
#include <limits>

namespace sbx {

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      out.emplace_back(s.substr(start));
      return out;
    }
    out.emplace_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

bool starts_with(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}
bool ends_with(std::string_view s, std::string_view x) {
  return s.size() >= x.size() && s.substr(s.size() - x.size()) == x;
}

std::string to_lower(std::string_view s) {
  std::string o(s);
  for (auto& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string o;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) o += sep;
    o += parts[i];
  }
  return o;
}

std::string hex_encode(std::string_view bytes) {
  static const char* d = "0123456789abcdef";
  std::string o;
  o.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    o += d[c >> 4];
    o += d[c & 15];
  }
  return o;
}

Result<uint64_t> parse_uint(std::string_view s) {
  if (s.empty()) return err("empty number");
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return err("not a number: '" + std::string(s) + "'");
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (std::numeric_limits<uint64_t>::max() - d) / 10)
      return err("number too large: '" + std::string(s) + "'");
    v = v * 10 + d;
  }
  return v;
}

Result<uint64_t> parse_size(std::string_view in) {
  std::string s = to_lower(trim(in));
  auto bad = [&] {
    return err("invalid size '" + std::string(in) +
               "': use a number with a unit, e.g. 512m, 8g, 20G");
  };
  size_t i = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  if (i == 0) return bad();
  auto num = parse_uint(std::string_view(s).substr(0, i));
  if (!num) return bad();
  std::string unit = s.substr(i);
  if (!unit.empty() && unit.back() == 'b' && unit != "b") unit.pop_back();
  if (unit.size() == 2 && unit[1] == 'i') unit.pop_back();  // "gi" from GiB
  uint64_t mult;
  if (unit.empty() || unit == "m") mult = 1ull << 20;
  else if (unit == "b") mult = 1;
  else if (unit == "k") mult = 1ull << 10;
  else if (unit == "g") mult = 1ull << 30;
  else if (unit == "t") mult = 1ull << 40;
  else return bad();
  if (*num > std::numeric_limits<uint64_t>::max() / mult) return bad();
  return *num * mult;
}

std::string format_size(uint64_t b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  double v = static_cast<double>(b);
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (v == static_cast<double>(static_cast<uint64_t>(v)))
    snprintf(buf, sizeof buf, "%llu %s", static_cast<unsigned long long>(v), units[u]);
  else
    snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  return buf;
}

std::string percent_encode(std::string_view s, std::string_view also_plain) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    bool plain = std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
                 also_plain.find(static_cast<char>(c)) != std::string_view::npos;
    if (plain) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string shell_quote(std::string_view s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=:,+@%") == std::string_view::npos)
    return std::string(s);
  std::string o = "'";
  for (char c : s) {
    if (c == '\'') o += "'\\''";
    else o += c;
  }
  return o + "'";
}

std::string sanitize_utf8(std::string_view s) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(s.size());
  auto cont = [&](size_t i) {
    return i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80;
  };
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t len = 0;
    uint32_t min = 0, cp = 0;
    if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2, min = 0x80, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, min = 0x800, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, min = 0x10000, cp = c & 0x07;
    }
    bool good = len > 0;
    for (size_t k = 1; good && k < len; ++k) {
      if (!cont(i + k)) good = false;
      else cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    }
    if (good && (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))) good = false;
    if (!good) {
      out += kReplacement;
      ++i;  // resynchronise on the next byte
      continue;
    }
    out.append(s.substr(i, len));
    i += len;
  }
  return out;
}

}  // namespace sbx
