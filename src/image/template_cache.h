// How the cache names template directories, and removing the ones no
// sandbox needs any more. The template builder and sandboxd's prune both
// go through here, so the naming lives in one place.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "base/result.h"

namespace sbx::image {

/// The directory that holds every cached template.
std::string templates_dir(const std::string& cache_dir);
/// The cache directory name of template `kind` ("shell") with content hash
/// `id`: "shell-" and the hash's first 16 hex digits.
std::string template_dir_name(const std::string& kind, const std::string& id);
/// Whether the cache directory named `dir_name` holds template `id`.
bool template_dir_holds(const std::string& dir_name, const std::string& id);

/// Bytes a file or tree really occupies (images are sparse: allocated
/// blocks, not apparent sizes). 0 when it does not exist.
uint64_t disk_usage(const std::string& path);

/// What prune_templates removed (or, in a dry run, would remove).
struct TemplatePrune {
  std::vector<std::string> paths;  ///< full paths of the template directories
  uint64_t bytes = 0;
};
/// Removes every cached template whose id is not in `keep_ids` (empty ids
/// are ignored). Builds in progress (dot names), saved layers and loaded
/// images (origin `loaded`, or a legacy template.json inside) are never
/// touched: only `sbx template rm` removes the user's templates.
TemplatePrune prune_templates(const std::string& cache_dir, const std::set<std::string>& keep_ids,
                              bool dry_run);

}  // namespace sbx::image
