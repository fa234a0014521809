#include "image/template_cache.h"

#include <sys/stat.h>

#include <filesystem>

#include "base/files.h"
#include "image/template_catalog.h"
#include "image/template_layer.h"

namespace sbx::image {

namespace {
// Enough of the hash to tell templates apart, short enough to read.
constexpr size_t kIdDigits = 16;
}  // namespace

std::string templates_dir(const std::string& cache_dir) { return cache_dir + "/templates"; }

std::string template_dir_name(const std::string& kind, const std::string& id) {
  return kind + "-" + id.substr(0, kIdDigits);
}

bool template_dir_holds(const std::string& dir_name, const std::string& id) {
  return !id.empty() && dir_name.find(id.substr(0, kIdDigits)) != std::string::npos;
}

uint64_t disk_usage(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return 0;
  if (S_ISREG(st.st_mode)) return static_cast<uint64_t>(st.st_blocks) * 512;
  uint64_t total = 0;
  for (auto it = fs::recursive_directory_iterator(path, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (::lstat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode))
      total += static_cast<uint64_t>(st.st_blocks) * 512;
  }
  return total;
}

TemplatePrune prune_templates(const std::string& cache_dir, const std::set<std::string>& keep_ids,
                              bool dry_run) {
  TemplatePrune out;
  std::string tdir = templates_dir(cache_dir);
  auto names = list_dir(tdir);
  if (!names) return out;
  // Layers (directories with metadata) follow the catalog's rules; what a
  // kept layer is built on stays too, base templates included.
  auto all = list_templates(tdir);
  std::vector<TemplateEntry> layers;
  for (auto& e : all)
    if (path_exists(e.dir + "/" + kMetaFile)) layers.push_back(e);
  std::set<std::string> doomed_layers, keep = keep_ids;
  for (auto* e : prunable_templates(layers, keep_ids)) doomed_layers.insert(e->dir);
  for (auto& e : layers) {
    if (doomed_layers.count(e.dir)) continue;
    for (std::string id = e.meta.parent_id; !id.empty() && !keep.count(id);) {
      keep.insert(id);
      auto* p = find_template_by_id(all, id);
      id = p ? p->meta.parent_id : "";
    }
  }
  for (auto& n : *names) {
    if (n.empty() || n[0] == '.') continue;  // builds in progress and their locks
    // Named templates (sbx template load) stay until removed by name.
    if (path_exists(tdir + "/" + n + "/template.json")) continue;
    std::string path = tdir + "/" + n;
    bool used = false;
    if (path_exists(path + "/" + kMetaFile)) {
      used = !doomed_layers.count(path);
    } else {
      for (auto& id : keep) used = used || template_dir_holds(n, id);
    }
    if (used) continue;
    out.paths.push_back(path);
    out.bytes += disk_usage(path);
    if (!dry_run) (void)remove_tree(path);
  }
  return out;
}

}  // namespace sbx::image
