#include "image/disk_overlay.h"

#include <unistd.h>

#include <cerrno>

#include "base/child_process.h"
#include "base/files.h"

namespace sbx::image {

Result<void> create_overlay(const std::string& backing_image, const std::string& overlay_path,
                            uint64_t size_bytes, const std::string& backing_format) {
  // qemu-img resolves a relative backing path against the overlay's
  // directory, not our cwd; an absolute path means the same thing everywhere.
  auto backing = absolute_path(backing_image);
  if (!backing) return backing.error().wrap("backing image");
  if (path_exists(overlay_path)) return err("overlay " + overlay_path + " already exists");
  auto r = run_checked({"qemu-img", "create", "-q", "-f", "qcow2", "-F", backing_format, "-b",
                        *backing, overlay_path, std::to_string(size_bytes)});
  if (!r) {
    (void)::unlink(overlay_path.c_str());
    return r.error().wrap("create overlay " + overlay_path + " (needs qemu-utils)");
  }
  return ok();
}

Result<void> remove_overlay(const std::string& overlay_path) {
  if (::unlink(overlay_path.c_str()) < 0 && errno != ENOENT)
    return errno_error("remove overlay " + overlay_path);
  return ok();
}

}  // namespace sbx::image
