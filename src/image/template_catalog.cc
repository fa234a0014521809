#include "image/template_catalog.h"

#include <sys/stat.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>

#include "base/files.h"
#include "base/strings.h"
#include "image/template_cache.h"

namespace sbx::image {

namespace {

std::string mtime_rfc3339(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return "";
  tm g;
  gmtime_r(&st.st_mtime, &g);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &g);
  return buf;
}

// A shell-HASH directory from before templates had metadata: its marker
// holds the id.
Result<TemplateMeta> base_meta(const std::string& dir, const std::string& name) {
  auto marker = read_file(dir + "/.complete");
  if (!marker) return marker.error();
  TemplateMeta m;
  m.tag = name.substr(0, name.find('-'));
  m.id = trim(*marker);
  m.origin = TemplateOrigin::kBase;
  m.created = mtime_rfc3339(dir + "/.complete");
  m.inputs = "Debian packages, the host's apt sources, the build hook";
  m.image = "rootfs.ext4";
  m.format = "raw";
  if (m.id.empty()) return err("empty marker");
  return m;
}

// A loaded image from before the catalog: template.json (name, id, the
// image's config) beside rootfs.ext4, complete once its marker exists.
Result<TemplateMeta> legacy_loaded_meta(const std::string& dir) {
  if (!path_exists(dir + "/.complete")) return err("not a complete template");
  auto text = read_file(dir + "/" + kLegacyLoadedMetaFile);
  if (!text) return text.error();
  if (text->size() > 1024 * 1024) return err("template.json larger than 1 MiB");
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (!j.is_object()) return err(dir + "/" + kLegacyLoadedMetaFile + ": not a JSON object");
  auto str = [&](const char* k) {
    auto it = j.find(k);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  TemplateMeta m;
  m.tag = str("name");
  m.id = str("id");
  m.origin = TemplateOrigin::kLoaded;
  m.created = mtime_rfc3339(dir + "/.complete");
  m.image = "rootfs.ext4";
  m.format = "raw";
  m.archive_format = str("format");
  m.image_id = str("image_id");
  m.inputs = m.archive_format + " image " + m.image_id;
  m.user = str("user");
  m.working_dir = str("working_dir");
  if (auto it = j.find("env"); it != j.end() && it->is_array())
    for (auto& e : *it)
      if (e.is_string()) m.env.push_back(e.get<std::string>());
  if (m.tag.empty() || m.id.empty()) return err("template.json lacks name or id");
  if (auto v = validate_template_tag(m.tag); !v) return v.error();
  return m;
}

}  // namespace

Result<TemplateMeta> read_template_meta(const std::string& dir, const std::string& name) {
  if (path_exists(dir + "/" + kMetaFile)) {
    auto text = read_file(dir + "/" + kMetaFile);
    if (!text) return text.error();
    return parse_meta_text(*text);
  }
  if (path_exists(dir + "/" + kLegacyLoadedMetaFile)) return legacy_loaded_meta(dir);
  if (starts_with(name, "shell-")) return base_meta(dir, name);
  return err("no template metadata in " + dir);
}

std::optional<TemplateMeta> find_template_meta(const std::string& templates_dir,
                                               const std::string& id) {
  auto names = list_dir(templates_dir);
  if (!names || id.empty()) return std::nullopt;
  for (auto& n : *names) {
    // The id's first digits name every kind of template directory.
    if (n.empty() || n[0] == '.' || !template_dir_holds(n, id)) continue;
    auto meta = read_template_meta(templates_dir + "/" + n, n);
    if (meta && meta->id == id) return *meta;
  }
  return std::nullopt;
}

std::vector<TemplateEntry> list_templates(const std::string& templates_dir) {
  std::vector<TemplateEntry> out;
  auto names = list_dir(templates_dir);
  if (!names) return out;
  for (auto& n : *names) {
    if (n.empty() || n[0] == '.') continue;  // work dirs and locks
    std::string dir = templates_dir + "/" + n;
    if (!is_directory(dir)) continue;
    auto meta = read_template_meta(dir, n);
    if (!meta || !path_exists(dir + "/" + meta->image)) continue;
    TemplateEntry e;
    e.meta = std::move(*meta);
    e.dir = dir;
    e.disk_bytes = disk_usage(dir);
    out.push_back(std::move(e));
  }
  std::stable_sort(out.begin(), out.end(), [](const TemplateEntry& a, const TemplateEntry& b) {
    return a.meta.created < b.meta.created;
  });
  return out;
}

Result<TemplateEntry> find_template(const std::vector<TemplateEntry>& all, const std::string& tag) {
  const TemplateEntry* best = nullptr;
  for (auto& e : all)
    if (e.meta.tag == tag) best = &e;  // sorted oldest first: the last is newest
  if (!best)
    return err(kNotFound,
               "template '" + tag + "' not found. Run 'sbx template ls' to see your templates.");
  return *best;
}

const TemplateEntry* find_template_by_id(const std::vector<TemplateEntry>& all,
                                         const std::string& id) {
  for (auto& e : all)
    if (e.meta.id == id) return &e;
  return nullptr;
}

std::vector<std::string> children_of(const std::vector<TemplateEntry>& all, const std::string& id) {
  std::vector<std::string> out;
  for (auto& e : all)
    if (!id.empty() && e.meta.parent_id == id) out.push_back(e.meta.tag);
  return out;
}

std::vector<const TemplateEntry*> prunable_templates(const std::vector<TemplateEntry>& all,
                                                     const std::set<std::string>& keep) {
  std::set<std::string> kept;
  std::map<std::string, const TemplateEntry*> newest;
  for (auto& e : all) newest[e.meta.tag] = &e;
  for (auto& e : all) {
    bool k = keep.count(e.meta.id) || e.meta.origin == TemplateOrigin::kSaved ||
             e.meta.origin == TemplateOrigin::kLoaded || newest[e.meta.tag] == &e;
    if (k) kept.insert(e.meta.id);
  }
  // Ancestors of anything kept stay: a layer is useless without its parent.
  for (bool grew = true; grew;) {
    grew = false;
    for (auto& e : all)
      if (kept.count(e.meta.id) && !e.meta.parent_id.empty() && !kept.count(e.meta.parent_id)) {
        kept.insert(e.meta.parent_id);
        grew = true;
      }
  }
  std::vector<const TemplateEntry*> out;
  for (auto& e : all)
    if (!kept.count(e.meta.id)) out.push_back(&e);
  return out;
}

}  // namespace sbx::image
