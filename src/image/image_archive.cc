#include "image/image_archive.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "base/strings.h"
#include "image/byte_source.h"
#include "image/gzip_source.h"
#include "image/sha256.h"

namespace sbx::image {
namespace {

using json = nlohmann::json;

constexpr size_t kMaxJson = 4 << 20;             // manifest, index, config
constexpr size_t kMaxLayers = 512;               // Docker itself stops at 127
constexpr size_t kMaxMembers = 100'000;          // of the outer archive
constexpr uint64_t kMaxLayerBytes = 1ULL << 40;  // decompressed, per layer
constexpr int kMaxIndexDepth = 2;                // an index may name one more index

bool valid_digest(const std::string& d) {
  if (!starts_with(d, "sha256:") || d.size() != 7 + 64) return false;
  for (size_t i = 7; i < d.size(); ++i)
    if (!((d[i] >= '0' && d[i] <= '9') || (d[i] >= 'a' && d[i] <= 'f'))) return false;
  return true;
}

std::string blob_path(const std::string& digest) { return "blobs/sha256/" + digest.substr(7); }

// "blobs/sha256/<hex>" or "<hex>.json" or "<hex>/layer.tar" carry their own
// digest; other names do not.
std::string digest_in_name(const std::string& member) {
  std::string hex;
  if (starts_with(member, "blobs/sha256/"))
    hex = member.substr(13);
  else if (ends_with(member, ".json"))
    hex = member.substr(0, member.size() - 5);
  std::string d = "sha256:" + hex;
  return valid_digest(d) ? d : "";
}

Result<json> parse_json(const std::string& text, const std::string& what) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return err(what + " is not valid JSON");
  return j;
}

std::vector<std::string> strings_of(const json& j, const char* key) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return out;
  for (auto& v : *it)
    if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

std::string string_of(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

// Resolves a symlink member's target against its directory, inside the
// archive (".." may not climb above it).
Result<std::string> resolve_member_link(const std::string& member, const std::string& target) {
  std::vector<std::string> parts;
  if (!target.empty() && target[0] != '/') {
    parts = split(member, '/');
    parts.pop_back();
  }
  for (auto& c : split(target, '/')) {
    if (c.empty() || c == ".") continue;
    if (c == "..") {
      if (parts.empty()) return err("archive link '" + member + "' points outside the archive");
      parts.pop_back();
    } else {
      parts.push_back(c);
    }
  }
  return join(parts, "/");
}

}  // namespace

Result<ImageConfig> parse_image_config(const std::string& text) {
  auto j = parse_json(text, "image config");
  if (!j) return j.error();
  if (!j->is_object()) return err("image config is not a JSON object");
  ImageConfig c;
  c.os = string_of(*j, "os");
  c.architecture = string_of(*j, "architecture");
  if (auto it = j->find("config"); it != j->end() && it->is_object()) {
    c.user = string_of(*it, "User");
    c.env = strings_of(*it, "Env");
    c.working_dir = string_of(*it, "WorkingDir");
    c.entrypoint = strings_of(*it, "Entrypoint");
    c.cmd = strings_of(*it, "Cmd");
  }
  if (auto it = j->find("rootfs"); it != j->end() && it->is_object())
    c.diff_ids = strings_of(*it, "diff_ids");
  for (auto& d : c.diff_ids)
    if (!valid_digest(d)) return err("image config: bad diff_id '" + d.substr(0, 80) + "'");
  return c;
}

Result<ImageArchive> ImageArchive::open(const std::string& path) {
  ImageArchive a;
  a.path_ = path;
  a.fd_ = Fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!a.fd_) return errno_error("open " + path);
  if (auto r = a.index(); !r) return r.error().wrap(path);
  Result<void> r =
      a.members_.count("manifest.json") ? a.read_docker()
      : a.members_.count("index.json")
          ? a.read_oci()
          : Result<void>(err(kBadRequest,
                             "neither a Docker image archive (no manifest.json) nor an "
                             "OCI image layout (no index.json); make one with "
                             "'docker save IMAGE -o FILE.tar'"));
  if (!r) return r.error().wrap(path);
  return a;
}

Result<void> ImageArchive::index() {
  struct stat st;
  if (::fstat(fd_.get(), &st) < 0) return errno_error("stat");
  char head[2];
  if (::pread(fd_.get(), head, 2, 0) == 2 && is_gzip(std::string_view(head, 2)))
    return err(kBadRequest, "the archive is gzip-compressed; decompress it first (gunzip)");
  FileRangeSource src(fd_.get(), 0, static_cast<uint64_t>(st.st_size), path_);
  TarLimits lim;
  lim.max_entries = kMaxMembers;
  TarReader tr(src, lim);
  std::map<std::string, std::string> hardlinks;
  for (;;) {
    auto e = tr.next();
    if (!e) return e.error();
    if (!*e) break;
    const TarEntry& t = **e;
    if (t.type == TarType::kFile) {
      members_[t.path] = Member{tr.offset(), t.size, ""};
    } else if (t.type == TarType::kSymlink) {
      auto l = resolve_member_link(t.path, t.link);
      if (!l) return l.error();
      members_[t.path] = Member{0, 0, *l};
    } else if (t.type == TarType::kHardlink) {
      members_[t.path] = Member{0, 0, t.link};
    }
  }
  return ok();
}

Result<const ImageArchive::Member*> ImageArchive::find(const std::string& name) const {
  std::string n = name;
  for (int hops = 0; hops < 8; ++hops) {
    auto it = members_.find(n);
    if (it == members_.end()) return err(kBadRequest, "the archive has no '" + n + "'");
    if (it->second.link.empty()) return &it->second;
    n = it->second.link;
  }
  return err(kBadRequest, "too many links to follow for '" + name + "'");
}

Result<std::string> ImageArchive::read_member(const std::string& name, size_t max,
                                              const std::string& digest) const {
  auto m = find(name);
  if (!m) return m.error();
  if ((*m)->size > max)
    return err(kBadRequest, "'" + name + "' is " + std::to_string((*m)->size) +
                                " bytes, over the limit of " + std::to_string(max));
  std::string data(static_cast<size_t>((*m)->size), '\0');
  FileRangeSource src(fd_.get(), (*m)->offset, (*m)->size, name);
  for (size_t got = 0; got < data.size();) {
    auto k = src.read(data.data() + got, data.size() - got);
    if (!k) return k.error();
    got += *k;
  }
  if (!digest.empty() && "sha256:" + sha256_hex(data) != digest)
    return err(kBadRequest, "'" + name + "' does not match its digest " + digest +
                                " (the archive is corrupt or was altered)");
  return data;
}

Result<void> ImageArchive::read_config(const std::string& member, const std::string& digest) {
  auto text = read_member(member, kMaxJson, digest);
  if (!text) return text.error();
  auto c = parse_image_config(*text);
  if (!c) return c.error();
  config_ = std::move(*c);
  config_digest_ = "sha256:" + sha256_hex(*text);
  if (config_.diff_ids.size() != layers_.size())
    return err(kBadRequest, "the config lists " + std::to_string(config_.diff_ids.size()) +
                                " layers (rootfs.diff_ids), the manifest " +
                                std::to_string(layers_.size()));
  for (size_t i = 0; i < layers_.size(); ++i) layers_[i].diff_id = config_.diff_ids[i];
  if (!config_.os.empty() && config_.os != "linux")
    return err(kBadRequest, "the image is for '" + config_.os + "', not linux");
  if (!config_.architecture.empty() && config_.architecture != "amd64")
    return err(kBadRequest,
               "the image is for '" + config_.architecture + "'; sandboxes run amd64 images only");
  return ok();
}

Result<void> ImageArchive::read_docker() {
  format_ = "docker";
  auto text = read_member("manifest.json", kMaxJson, "");
  if (!text) return text.error();
  try {
    auto j = parse_json(*text, "manifest.json");
    if (!j) return j.error();
    if (!j->is_array() || j->empty()) return err(kBadRequest, "manifest.json lists no image");
    if (j->size() > 1)
      return err(kBadRequest, "the archive holds " + std::to_string(j->size()) +
                                  " images; save one image per archive");
    const json& m = (*j)[0];
    std::string config = string_of(m, "Config");
    tags_ = strings_of(m, "RepoTags");
    auto names = strings_of(m, "Layers");
    if (config.empty()) return err(kBadRequest, "manifest.json names no Config");
    if (names.size() > kMaxLayers) return err(kBadRequest, "too many layers");
    for (auto& n : names) layers_.push_back(LayerRef{n, digest_in_name(n), ""});
    return read_config(config, digest_in_name(config));
  } catch (const json::exception& e) {
    return err(kBadRequest, std::string("manifest.json: ") + e.what());
  }
}

Result<void> ImageArchive::read_oci() {
  format_ = "oci";
  if (!members_.count("oci-layout"))
    return err(kBadRequest, "index.json without oci-layout: not an OCI image layout");
  try {
    auto text = read_member("index.json", kMaxJson, "");
    if (!text) return text.error();
    auto j = parse_json(*text, "index.json");
    if (!j) return j.error();
    // Find the first linux/amd64 (or unlabelled) image manifest, through
    // at most one nested index.
    std::string manifest_digest;
    json index = *j;
    for (int depth = 0; depth < kMaxIndexDepth && manifest_digest.empty(); ++depth) {
      auto it = index.find("manifests");
      if (it == index.end() || !it->is_array()) return err(kBadRequest, "index lists no manifests");
      std::string nested;
      for (auto& d : *it) {
        if (!d.is_object()) continue;
        if (auto p = d.find("platform");
            p != d.end() && p->is_object() &&
            (string_of(*p, "os") != "linux" || string_of(*p, "architecture") != "amd64"))
          continue;
        std::string mt = string_of(d, "mediaType");
        std::string dg = string_of(d, "digest");
        if (!valid_digest(dg)) return err(kBadRequest, "bad digest '" + dg.substr(0, 80) + "'");
        if (auto a = d.find("annotations"); a != d.end() && a->is_object()) {
          std::string ref = string_of(*a, "org.opencontainers.image.ref.name");
          if (!ref.empty()) tags_.push_back(ref);
        }
        if (mt.find("index") != std::string::npos ||
            mt.find("manifest.list") != std::string::npos) {
          if (nested.empty()) nested = dg;
          continue;
        }
        manifest_digest = dg;
        break;
      }
      if (!manifest_digest.empty() || nested.empty()) break;
      auto sub = read_member(blob_path(nested), kMaxJson, nested);
      if (!sub) return sub.error();
      auto sj = parse_json(*sub, "image index " + nested);
      if (!sj) return sj.error();
      index = *sj;
    }
    if (manifest_digest.empty())
      return err(kBadRequest, "the layout has no linux/amd64 image manifest");
    auto mtext = read_member(blob_path(manifest_digest), kMaxJson, manifest_digest);
    if (!mtext) return mtext.error();
    auto m = parse_json(*mtext, "image manifest");
    if (!m) return m.error();
    auto cfg = m->find("config");
    if (cfg == m->end() || !cfg->is_object()) return err(kBadRequest, "manifest has no config");
    std::string config_digest = string_of(*cfg, "digest");
    if (!valid_digest(config_digest)) return err(kBadRequest, "bad config digest");
    auto ls = m->find("layers");
    if (ls == m->end() || !ls->is_array()) return err(kBadRequest, "manifest has no layers");
    if (ls->size() > kMaxLayers) return err(kBadRequest, "too many layers");
    for (auto& l : *ls) {
      std::string dg = l.is_object() ? string_of(l, "digest") : "";
      if (!valid_digest(dg)) return err(kBadRequest, "bad layer digest '" + dg.substr(0, 80) + "'");
      if (string_of(l, "mediaType").find("zstd") != std::string::npos)
        return err(kBadRequest,
                   "zstd-compressed layers are not supported; save the image with "
                   "gzip or uncompressed layers");
      layers_.push_back(LayerRef{blob_path(dg), dg, ""});
    }
    return read_config(blob_path(config_digest), config_digest);
  } catch (const json::exception& e) {
    return err(kBadRequest, std::string("OCI layout: ") + e.what());
  }
}

Result<void> ImageArchive::read_layer(size_t i,
                                      const std::function<Result<void>(TarReader&)>& apply) {
  const LayerRef& ref = layers_.at(i);
  std::string what = "layer " + std::to_string(i + 1) + " (" + ref.member + ")";
  auto m = find(ref.member);
  if (!m) return m.error();
  char head[4] = {};
  ssize_t n = ::pread(fd_.get(), head, sizeof head, static_cast<off_t>((*m)->offset));
  std::string_view hv(head, n > 0 ? static_cast<size_t>(n) : 0);
  if ((*m)->size >= 4 && hv == std::string_view("\x28\xb5\x2f\xfd", 4))
    return err(kBadRequest, what + " is zstd-compressed, which is not supported");
  FileRangeSource raw(fd_.get(), (*m)->offset, (*m)->size, ref.member);
  HashingSource hraw(raw);
  std::optional<GzipSource> gz;
  if (is_gzip(hv)) gz.emplace(hraw, kMaxLayerBytes);
  HashingSource tar_bytes(gz ? static_cast<ByteSource&>(*gz) : hraw);
  TarReader tr(tar_bytes);
  if (auto r = apply(tr); !r) return r.error().wrap(what);
  if (auto r = tar_bytes.drain(); !r) return r.error().wrap(what);
  if (auto r = hraw.drain(); !r) return r.error().wrap(what);
  std::string got_raw = hraw.digest(), got_tar = tar_bytes.digest();
  if (!ref.digest.empty() && got_raw != ref.digest)
    return err(kBadRequest, what + " does not match its digest " + ref.digest + " (got " + got_raw +
                                "): the archive is corrupt or was altered");
  if (got_tar != ref.diff_id)
    return err(kBadRequest, what + " does not match the config's diff_id " + ref.diff_id +
                                " (got " + got_tar + "): the archive is corrupt or was altered");
  return ok();
}

}  // namespace sbx::image
