// The templates in the cache as `sbx template ls` sees them: base templates
// (shell-HASH/ with rootfs.ext4), layers (layer-TAG-ID/ with layer.qcow2
// and template.meta) and loaded images (image-ID/ or loaded-ID/ with
// template.meta, or a legacy template.json); resolving a tag; and which
// ones prune may remove.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/result.h"
#include "image/template_layer.h"

namespace sbx::image {

/// One template directory of the cache.
struct TemplateEntry {
  TemplateMeta meta;
  std::string dir;          ///< absolute path of its directory
  uint64_t disk_bytes = 0;  ///< bytes it occupies (its own delta, for a layer)
  /// The image file sandboxes (or child layers) use as their backing file.
  std::string image_path() const { return dir + "/" + meta.image; }
};

/// The metadata of the template directory `dir` (named `name` in the
/// cache): its template.meta, else a legacy template.json (a loaded image
/// from before the catalog), else a shell base's completion marker.
Result<TemplateMeta> read_template_meta(const std::string& dir, const std::string& name);

/// The metadata of the template whose id is `id`, without sizing every
/// directory as list_templates does (exec looks it up).
std::optional<TemplateMeta> find_template_meta(const std::string& templates_dir,
                                               const std::string& id);

/// Every complete template in `templates_dir` (work dirs and locks skipped;
/// a directory whose metadata does not parse is skipped too), oldest first.
std::vector<TemplateEntry> list_templates(const std::string& templates_dir);

/// The newest template tagged `tag` (kNotFound, naming `sbx template ls`,
/// if none).
Result<TemplateEntry> find_template(const std::vector<TemplateEntry>& all, const std::string& tag);
/// The template whose id is `id`, if any.
const TemplateEntry* find_template_by_id(const std::vector<TemplateEntry>& all,
                                         const std::string& id);
/// The tags of the templates layered directly on `id`.
std::vector<std::string> children_of(const std::vector<TemplateEntry>& all, const std::string& id);

/// Which templates prune may remove, given the ids sandboxes use (`keep`):
/// never a saved layer or a loaded image (only `template rm` removes the
/// user's data), never
/// the newest template of a tag (what the next create uses), never one a
/// kept template is layered on, directly or not.
std::vector<const TemplateEntry*> prunable_templates(const std::vector<TemplateEntry>& all,
                                                     const std::set<std::string>& keep);

}  // namespace sbx::image
