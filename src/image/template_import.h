// `sbx template load`: turns a container image archive (docker save, or an
// OCI image layout tarball) into a cached template that boots with sbx's
// kernel and agent: layers applied in order, the boot layer added, packed
// into ext4 with owners and modes intact, and stored in the template
// catalog (template.meta, origin `loaded`) under a tag.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/result.h"
#include "image/image_archive.h"
#include "image/kernel.h"
#include "image/template_builder.h"
#include "image/template_layer.h"

namespace sbx::image {

/// What to import and where.
struct TemplateImportOptions {
  std::string archive;    ///< path of the .tar
  std::string tag;        ///< template name; "" = the archive's first tag
  std::string cache_dir;  ///< sbx's cache (templates live below it)
  /// Virtual size floor of the image: the sandbox disk size, as for the
  /// shell template, so the guest's root can use the whole overlay.
  uint64_t min_disk_bytes = kTemplateDiskBytes;
  /// Free space to require on top of the estimate (tests raise it).
  uint64_t extra_free_bytes = 0;
  ProgressFn progress;
};

/// A loaded template in the cache.
struct LoadedTemplate {
  std::string name;      ///< the tag it is known by
  std::string id;        ///< content hash (hex)
  std::string dir;       ///< its cache directory
  std::string image;     ///< rootfs.ext4
  std::string format;    ///< "docker" or "oci"
  std::string image_id;  ///< the image's config digest
  ImageConfig config;
  uint64_t size_bytes = 0;  ///< real bytes on disk
  bool reused = false;      ///< it was already in the cache
};

/// Free bytes for unprivileged users on the file system of `dir`, or a
/// kInsufficientStorage error naming `what` when fewer than `need`.
Result<void> require_free_space(const std::string& dir, uint64_t need, const std::string& what);

/// A loaded template as the load API reports it, from its catalog entry.
LoadedTemplate loaded_template(const std::string& dir, const TemplateMeta& meta);

/// Imports an archive: a docker or OCI image, or an sbx template archive
/// (template_archive.h). Nothing is stored unless every digest checks and
/// the image is packed. Loading the same image under the same name again
/// reuses it; under another name it is another template; a name held by a
/// different image is a kConflict.
Result<LoadedTemplate> import_image_template(const TemplateImportOptions& opts);

/// The loaded template called `name`, from the catalog (kNotFound when
/// there is none, or the tag names a template that was not loaded).
Result<LoadedTemplate> find_loaded_template(const std::string& cache_dir, const std::string& name);

}  // namespace sbx::image
