// Template layers: a template is either a base (a raw ext4 image built from
// scratch, `shell`) or a layer, a qcow2 holding only the clusters that
// differ from its parent template's image. A layer is made from a stopped
// sandbox's disk overlay (`template save`, agent template builds), so one
// mechanism serves both. Each template directory carries `template.meta`,
// the metadata `template ls` shows.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"

namespace sbx::image {

/// Where a template came from: decides how `prune` treats it.
enum class TemplateOrigin {
  kBase,   ///< built from scratch (shell); rebuilt when its inputs change
  kSaved,  ///< `sbx template save`: the user's data, removed only by `template rm`
  kBuilt,  ///< an agent layer built from a kit; cached by its inputs
  /// `sbx template load`: a container image or an sbx template archive;
  /// the user's data, removed only by `template rm`
  kLoaded,
};
std::string_view origin_name(TemplateOrigin o);
Result<TemplateOrigin> parse_origin(std::string_view s);

/// A template's metadata (template.meta in its directory).
struct TemplateMeta {
  std::string tag;  ///< "shell", "claude", "myproject:v1"
  std::string id;   ///< content or input hash (hex); sandboxes record it
  TemplateOrigin origin = TemplateOrigin::kBase;
  std::string parent;     ///< parent's tag; empty for a base
  std::string parent_id;  ///< parent's id; empty for a base
  std::string created;    ///< RFC 3339 UTC
  std::string inputs;     ///< what the id hashes, in words (kit name, steps' hash)
  std::string image;      ///< file name in the directory: rootfs.ext4 or layer.qcow2
  std::string format;     ///< "raw" or "qcow2": the image's format as a backing file
  std::string source;     ///< sandbox saved, kit file built from, or archive loaded
  // What a loaded container image asks of the processes it runs (its
  // config's User, WorkingDir and Env); empty for other templates.
  std::string user;              ///< "name", "uid" or "name:group"
  std::string working_dir;       ///< absolute, or empty
  std::vector<std::string> env;  ///< "K=V", in the image's order
  std::string image_id;          ///< a loaded image's config digest
  std::string archive_format;    ///< "docker", "oci" or "sbx" for a loaded one
};

/// template.meta text: one `key=value` per line (values have no newlines;
/// `env` repeats, one line per variable).
std::string to_meta_text(const TemplateMeta& m);
/// Parses template.meta; unknown keys are skipped, missing tag/id/image fail.
Result<TemplateMeta> parse_meta_text(std::string_view text);

/// Template tags: 1-128 chars of [a-z0-9_.:/-], starting with a letter or
/// digit (`name`, `name:version` or `registry/name:version`, as Docker
/// writes them).
Result<void> validate_template_tag(std::string_view tag);

/// The cache directory name of a layer: "layer-" + tag (':' written '@') +
/// "-" + the id's first 16 hex digits; '/' is written '+'.
std::string layer_dir_name(const std::string& tag, const std::string& id);

/// The file name of the metadata in a template directory.
inline constexpr char kMetaFile[] = "template.meta";
/// The metadata file of loaded images from before the catalog (still read).
inline constexpr char kLegacyLoadedMetaFile[] = "template.json";
/// The file name of a layer's image.
inline constexpr char kLayerImage[] = "layer.qcow2";

/// Turns a stopped sandbox's overlay into a standalone layer at `dest`
/// (a new file): only the clusters the overlay holds are copied, and the
/// result's backing file is `parent_image` (absolute) of `parent_format`.
/// The overlay must be backed by the same content (its parent template).
Result<void> write_layer(const std::string& overlay, const std::string& parent_image,
                         const std::string& parent_format, const std::string& dest);

/// Creates a template layer directory in `templates_dir` from `overlay`:
/// built in a dot-named work dir, renamed into place with its metadata.
/// `meta.image`/`format` are set here. Returns the directory.
Result<std::string> save_layer(const std::string& templates_dir, const std::string& overlay,
                               const std::string& parent_image, const std::string& parent_format,
                               TemplateMeta meta);

/// The current time as RFC 3339 UTC.
std::string now_rfc3339_utc();

}  // namespace sbx::image
