#include "image/tar_reader.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace sbx::image {
namespace {

constexpr size_t kBlock = 512;

// Offsets of the ustar header fields.
struct Field {
  size_t off, len;
};
constexpr Field kName{0, 100}, kMode{100, 8}, kUid{108, 8}, kGid{116, 8}, kSize{124, 12},
    kMtime{136, 12}, kChksum{148, 8}, kTypeflag{156, 1}, kLinkname{157, 100}, kMagic{257, 8},
    kDevmajor{329, 8}, kDevminor{337, 8}, kPrefix{345, 155};

std::string field_str(const char* b, Field f) {
  const char* p = b + f.off;
  return std::string(p, strnlen(p, f.len));
}

// Octal (space/NUL padded) or GNU base-256 (high bit of the first byte).
Result<uint64_t> field_num(const char* b, Field f, const char* what) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(b + f.off);
  if (p[0] & 0x80) {
    if (p[0] & 0x40) return err(std::string("negative ") + what);
    uint64_t v = p[0] & 0x3f;
    for (size_t i = 1; i < f.len; ++i) {
      if (v >> 56) return err(std::string(what) + " too large");
      v = (v << 8) | p[i];
    }
    return v;
  }
  size_t i = 0;
  while (i < f.len && p[i] == ' ') ++i;
  uint64_t v = 0;
  bool any = false;
  for (; i < f.len && p[i] >= '0' && p[i] <= '7'; ++i) {
    if (v >> 60) return err(std::string(what) + " too large");
    v = v * 8 + (p[i] - '0');
    any = true;
  }
  for (; i < f.len; ++i)
    if (p[i] != ' ' && p[i] != 0) return err(std::string("bad number in ") + what);
  (void)any;  // an empty field reads as 0, as GNU tar does
  return v;
}

bool all_zero(const char* b) {
  return std::all_of(b, b + kBlock, [](char c) { return c == 0; });
}

Result<void> check_sum(const char* b) {
  auto want = field_num(b, kChksum, "checksum");
  if (!want) return want.error();
  uint64_t u = 0;
  int64_t s = 0;
  for (size_t i = 0; i < kBlock; ++i) {
    bool in_sum = i >= kChksum.off && i < kChksum.off + kChksum.len;
    unsigned char c = in_sum ? ' ' : static_cast<unsigned char>(b[i]);
    u += c;
    s += in_sum ? ' ' : static_cast<signed char>(b[i]);
  }
  if (*want != u && static_cast<int64_t>(*want) != s)
    return err("header checksum mismatch (not a tar archive, or corrupt)");
  return ok();
}

// pax records: "LEN key=value\n", LEN counting the whole record.
struct Pax {
  std::optional<std::string> path, linkpath;
  std::optional<uint64_t> size, uid, gid;
  std::optional<int64_t> mtime;
};

Result<uint64_t> pax_uint(const std::string& v, const std::string& key) {
  if (v.empty() || v.size() > 20) return err("pax " + key + ": bad number");
  uint64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return err("pax " + key + ": bad number '" + v + "'");
    if (n > (UINT64_MAX - 9) / 10) return err("pax " + key + ": number too large");
    n = n * 10 + (c - '0');
  }
  return n;
}

Result<void> parse_pax(const std::string& data, Pax& out) {
  size_t pos = 0;
  while (pos < data.size()) {
    size_t sp = data.find(' ', pos);
    if (sp == std::string::npos || sp - pos > 20) return err("pax header: bad record length");
    auto len = pax_uint(data.substr(pos, sp - pos), "record length");
    if (!len) return len.error();
    if (*len <= sp - pos + 1 || *len > data.size() - pos) return err("pax header: bad record");
    std::string rec = data.substr(sp + 1, *len - (sp - pos) - 1);
    pos += *len;
    if (rec.empty() || rec.back() != '\n') return err("pax header: record without newline");
    rec.pop_back();
    size_t eq = rec.find('=');
    if (eq == std::string::npos) return err("pax header: record without '='");
    std::string key = rec.substr(0, eq), val = rec.substr(eq + 1);
    if (key == "path") {
      out.path = val;
    } else if (key == "linkpath") {
      out.linkpath = val;
    } else if (key == "size" || key == "uid" || key == "gid") {
      auto n = pax_uint(val, key);
      if (!n) return n.error();
      (key == "size" ? out.size : key == "uid" ? out.uid : out.gid) = *n;
    } else if (key == "mtime") {
      // Seconds, maybe with a fraction and a sign; whole seconds suffice.
      std::string whole = val.substr(0, val.find('.'));
      bool neg = !whole.empty() && whole[0] == '-';
      auto n = pax_uint(neg ? whole.substr(1) : whole, key);
      if (!n || *n > (1ULL << 62)) return err("pax mtime: bad value");
      out.mtime = neg ? -static_cast<int64_t>(*n) : static_cast<int64_t>(*n);
    }
    // Other keys (xattrs, atime, charset...) carry nothing we keep.
  }
  return ok();
}

}  // namespace

Result<std::string> normalize_tar_path(std::string_view raw, const TarLimits& limits) {
  if (raw.size() > limits.max_path)
    return err("path longer than " + std::to_string(limits.max_path) + " bytes");
  if (raw.find('\0') != std::string_view::npos) return err("path contains a NUL byte");
  if (!raw.empty() && raw[0] == '/') return err("absolute path '" + std::string(raw) + "'");
  std::vector<std::string_view> parts;
  size_t pos = 0;
  while (pos <= raw.size()) {
    size_t slash = raw.find('/', pos);
    if (slash == std::string_view::npos) slash = raw.size();
    std::string_view c = raw.substr(pos, slash - pos);
    pos = slash + 1;
    if (c.empty() || c == ".") continue;
    if (c == "..") return err("path '" + std::string(raw) + "' contains '..'");
    parts.push_back(c);
    if (parts.size() > limits.max_components)
      return err("path deeper than " + std::to_string(limits.max_components) + " components");
  }
  std::string out;
  for (auto& p : parts) {
    if (!out.empty()) out += '/';
    out += p;
  }
  return out;
}

Result<bool> TarReader::read_block(char* block) {
  size_t got = 0;
  while (got < kBlock) {
    auto k = src_.read(block + got, kBlock - got);
    if (!k) return k.error();
    if (*k == 0) {
      if (got == 0) return false;
      return err("tar: archive ends in the middle of a block (truncated)");
    }
    got += *k;
    offset_ += *k;
  }
  return true;
}

Result<void> TarReader::skip(uint64_t n) {
  char buf[8192];
  while (n > 0) {
    auto k = src_.read(buf, static_cast<size_t>(std::min<uint64_t>(n, sizeof buf)));
    if (!k) return k.error();
    if (*k == 0) return err("tar: archive ends inside an entry (truncated)");
    n -= *k;
    offset_ += *k;
  }
  return ok();
}

Result<std::string> TarReader::read_ext(uint64_t size) {
  if (size > limits_.max_ext_header)
    return err("tar: extended header of " + std::to_string(size) + " bytes is over the limit of " +
               std::to_string(limits_.max_ext_header));
  std::string data(static_cast<size_t>(size), '\0');
  size_t got = 0;
  while (got < data.size()) {
    auto k = src_.read(data.data() + got, data.size() - got);
    if (!k) return k.error();
    if (*k == 0) return err("tar: archive ends inside an extended header (truncated)");
    got += *k;
    offset_ += *k;
  }
  if (auto r = skip((kBlock - size % kBlock) % kBlock); !r) return r.error();
  return data;
}

Result<std::optional<TarEntry>> TarReader::next() {
  if (done_) return std::optional<TarEntry>();
  if (auto r = skip(data_left_ + pad_left_); !r) return r.error();
  data_left_ = pad_left_ = 0;

  Pax pax;
  std::optional<std::string> gnu_name, gnu_link;
  char b[kBlock];
  // Extended headers precede the entry they describe; bound how many.
  for (int ext = 0;; ++ext) {
    if (ext > 8) return err("tar: too many extended headers before one entry");
    auto got = read_block(b);
    if (!got) return got.error();
    if (!*got || all_zero(b)) {
      // End of archive: one or two zero blocks (or a bare end of stream).
      if (ext > 0) return err("tar: extended header without an entry");
      done_ = true;
      return std::optional<TarEntry>();
    }
    if (auto r = check_sum(b); !r) return r.error().wrap("tar entry " + std::to_string(entries_));
    char tf = b[kTypeflag.off];
    if (tf != 'x' && tf != 'g' && tf != 'L' && tf != 'K') break;
    auto size = field_num(b, kSize, "size");
    if (!size) return size.error().wrap("tar");
    auto data = read_ext(*size);
    if (!data) return data.error();
    if (tf == 'x') {
      if (auto r = parse_pax(*data, pax); !r) return r.error().wrap("tar");
    } else if (tf == 'L' || tf == 'K') {
      std::string s = data->substr(0, strnlen(data->data(), data->size()));
      (tf == 'L' ? gnu_name : gnu_link) = s;
    }  // 'g' (global pax) carries nothing we keep
  }
  if (++entries_ > limits_.max_entries)
    return err("tar: more than " + std::to_string(limits_.max_entries) + " entries");

  TarEntry e;
  std::string name = field_str(b, kName);
  bool ustar = std::memcmp(b + kMagic.off, "ustar\0", 6) == 0;
  std::string prefix = ustar ? field_str(b, kPrefix) : "";
  if (!prefix.empty()) name = prefix + "/" + name;
  if (gnu_name) name = *gnu_name;
  if (pax.path) name = *pax.path;
  std::string link = field_str(b, kLinkname);
  if (gnu_link) link = *gnu_link;
  if (pax.linkpath) link = *pax.linkpath;

  auto mode = field_num(b, kMode, "mode");
  auto uid = field_num(b, kUid, "uid");
  auto gid = field_num(b, kGid, "gid");
  auto size = field_num(b, kSize, "size");
  auto mtime = field_num(b, kMtime, "mtime");
  for (auto* r : {&mode, &uid, &gid, &size, &mtime})
    if (!*r) return r->error().wrap("tar entry '" + name.substr(0, 200) + "'");
  auto dmaj = field_num(b, kDevmajor, "devmajor");
  auto dmin = field_num(b, kDevminor, "devminor");
  e.mode = static_cast<uint32_t>(*mode & 07777);
  uint64_t u = pax.uid.value_or(*uid), g = pax.gid.value_or(*gid);
  if (u > UINT32_MAX - 1 || g > UINT32_MAX - 1) return err("tar: uid or gid out of range");
  e.uid = static_cast<uint32_t>(u);
  e.gid = static_cast<uint32_t>(g);
  uint64_t data_size = pax.size.value_or(*size);
  e.mtime = pax.mtime.value_or(static_cast<int64_t>(*mtime & ((1ULL << 62) - 1)));

  char tf = b[kTypeflag.off];
  switch (tf) {
    case '0':
    case '\0':
    case '7':
      e.type = TarType::kFile;
      break;
    case '1':
      e.type = TarType::kHardlink;
      break;
    case '2':
      e.type = TarType::kSymlink;
      break;
    case '3':
      e.type = TarType::kCharDev;
      break;
    case '4':
      e.type = TarType::kBlockDev;
      break;
    case '5':
      e.type = TarType::kDir;
      break;
    case '6':
      e.type = TarType::kFifo;
      break;
    default:
      return err(std::string("tar entry '") + name.substr(0, 200) + "': unsupported type '" +
                 (tf >= 32 && tf < 127 ? std::string(1, tf) : std::to_string(int(tf))) + "'");
  }
  // Old archives mark directories only by a trailing slash.
  if (e.type == TarType::kFile && !name.empty() && name.back() == '/') e.type = TarType::kDir;
  auto path = normalize_tar_path(name, limits_);
  if (!path) return path.error().wrap("tar entry '" + name.substr(0, 200) + "'");
  e.path = *path;
  if (e.type == TarType::kHardlink) {
    auto l = normalize_tar_path(link, limits_);
    if (!l) return l.error().wrap("tar hardlink '" + e.path + "' target");
    if (l->empty()) return err("tar hardlink '" + e.path + "' has no target");
    e.link = *l;
  } else if (e.type == TarType::kSymlink) {
    if (link.empty() || link.size() > limits_.max_path || link.find('\0') != std::string::npos)
      return err("tar symlink '" + e.path + "': bad target");
    e.link = link;
  }
  if (e.type == TarType::kCharDev || e.type == TarType::kBlockDev) {
    if (!dmaj || !dmin || *dmaj > 0xfff || *dmin > 0xfffff)
      return err("tar device '" + e.path + "': bad device number");
    e.dev_major = static_cast<uint32_t>(*dmaj);
    e.dev_minor = static_cast<uint32_t>(*dmin);
  }
  if (data_size > limits_.max_file) return err("tar entry '" + e.path + "' is too large");
  // Only regular files carry data we hand out; others' bytes are skipped.
  if (e.type == TarType::kFile) e.size = data_size;
  data_left_ = e.type == TarType::kFile ? data_size : 0;
  uint64_t skip_extra = e.type == TarType::kFile ? 0 : data_size;
  pad_left_ = skip_extra + (kBlock - data_size % kBlock) % kBlock;
  return std::optional<TarEntry>(std::move(e));
}

Result<size_t> TarReader::read_data(char* buf, size_t n) {
  if (data_left_ == 0) return size_t{0};
  auto k = src_.read(buf, static_cast<size_t>(std::min<uint64_t>(n, data_left_)));
  if (!k) return k.error();
  if (*k == 0) return err("tar: archive ends inside an entry's data (truncated)");
  data_left_ -= *k;
  offset_ += *k;
  return k;
}

Result<std::string> TarReader::read_all(size_t max) {
  if (data_left_ > max)
    return err("tar member of " + std::to_string(data_left_) + " bytes is over the limit of " +
               std::to_string(max));
  std::string out(static_cast<size_t>(data_left_), '\0');
  size_t got = 0;
  while (got < out.size()) {
    auto k = read_data(out.data() + got, out.size() - got);
    if (!k) return k.error();
    got += *k;
  }
  return out;
}

}  // namespace sbx::image
