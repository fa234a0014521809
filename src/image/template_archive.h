// sbx template archives: `sbx template save SANDBOX TAG --output FILE.tar`
// writes one, `sbx template load FILE.tar` reads it back. A plain tar of two
// members, in this order: sbx-template.meta (template.meta's text) and
// rootfs.qcow2, the template's image flattened (its whole backing chain
// merged), so the archive stands alone on another machine. The qcow2 that
// comes back is hostile input: one naming a backing or data file (a host
// path the daemon would open for the guest) is refused.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "image/template_catalog.h"
#include "image/template_import.h"

namespace sbx::image {

/// The archive's first member: the template's metadata.
inline constexpr char kArchiveMetaMember[] = "sbx-template.meta";
/// The archive's second member: the flattened image.
inline constexpr char kArchiveImageMember[] = "rootfs.qcow2";

/// Whether the file at `path` is an sbx template archive (a tar whose first
/// member is sbx-template.meta). False for docker and OCI archives.
bool is_template_archive(const std::string& path);

/// Writes template `t` to `output` (absolute; its directory must exist):
/// the image is flattened into `work_dir` first, then the tar is written
/// beside `output` and renamed over it, so `output` is never half-written.
/// Free space in both places is checked first (kInsufficientStorage).
/// Returns the archive's size.
Result<uint64_t> export_template(const TemplateEntry& t, const std::string& output,
                                 const std::string& work_dir, uint64_t extra_free_bytes = 0);

/// Imports an sbx template archive as a loaded template (no parent; image
/// rootfs.qcow2). Same rules as import_image_template: the same archive
/// under the same tag is reused, a tag held by another template is a
/// kConflict, and nothing is stored unless every check passes.
Result<LoadedTemplate> import_template_archive(const TemplateImportOptions& opts);

/// Checks `qemu-img info --output=json` of an image that came from
/// outside: a qcow2 with no backing file and no external data file.
Result<void> check_standalone_qcow2(std::string_view info_json);

}  // namespace sbx::image
