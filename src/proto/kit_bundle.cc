#include "proto/kit_bundle.h"

#include "base/base64.h"

namespace sbx::proto {

using nlohmann::json;

bool valid_bundle_path(std::string_view path) {
  if (path.empty() || path.size() > kMaxBundlePath || path[0] == '/' || path == "kit.yaml")
    return false;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  for (char c : path)
    if (c == '\0' || c == '\\') return false;
  return true;
}

json kit_bundle_json(const KitBundle& b) {
  json files = json::array();
  for (auto& [path, data] : b.files)
    files.push_back(json{{"path", path}, {"data", base64_encode(data)}});
  return json{{"yaml", base64_encode(b.yaml)}, {"files", files}};
}

namespace {

Result<std::string> decoded(const json& j, const char* key, size_t max_bytes,
                            const std::string& what) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return err(what + ": missing '" + key + "'");
  const std::string& text = it->get_ref<const std::string&>();
  // Checked before decoding: base64 is 4 bytes for every 3.
  if (text.size() > (max_bytes + 2) / 3 * 4)
    return err(what + " is over the " + std::to_string(max_bytes) + "-byte limit");
  auto bytes = base64_decode(text);
  if (!bytes) return bytes.error().wrap(what);
  if (bytes->size() > max_bytes)
    return err(what + " is over the " + std::to_string(max_bytes) + "-byte limit");
  return bytes;
}

}  // namespace

Result<KitBundle> parse_kit_bundle(const json& j) {
  if (!j.is_object()) return err("kit: not an object");
  KitBundle b;
  auto yaml = decoded(j, "yaml", kMaxBundleYamlBytes, "kit.yaml");
  if (!yaml) return yaml.error().wrap("kit");
  b.yaml = std::move(*yaml);
  auto files = j.find("files");
  if (files == j.end() || files->is_null()) return b;
  if (!files->is_array()) return err("kit: 'files' must be a list");
  if (files->size() > kMaxBundleFiles)
    return err("kit: more than " + std::to_string(kMaxBundleFiles) + " files");
  size_t total = 0;
  for (auto& f : *files) {
    if (!f.is_object()) return err("kit: each file must be an object");
    auto p = f.find("path");
    if (p == f.end() || !p->is_string()) return err("kit: a file without 'path'");
    std::string path = p->get<std::string>();
    if (!valid_bundle_path(path))
      return err("kit: file path '" + path.substr(0, 200) +
                 "' must be relative to the kit's directory, without '.' or '..'");
    auto data = decoded(f, "data", kMaxBundleFileBytes, "file '" + path + "'");
    if (!data) return data.error().wrap("kit");
    total += data->size();
    if (total > kMaxBundleFileTotal)
      return err("kit: its files are over the " + std::to_string(kMaxBundleFileTotal) +
                 "-byte limit together");
    if (!b.files.emplace(path, std::move(*data)).second)
      return err("kit: file '" + path + "' is listed twice");
  }
  return b;
}

}  // namespace sbx::proto
