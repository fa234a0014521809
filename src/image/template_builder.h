// Templates: read-only ext4 root-disk images that sandboxes boot from through
// a qcow2 overlay. The base template `shell` is Debian bookworm built with
// mmdebstrap from the host's own Debian mirror, then packed with mkfs.ext4 -d
// (no mounting, no loop devices). As root or as a normal user: without root,
// mmdebstrap runs in a user namespace and the image is packed under fakeroot.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "image/kernel.h"

namespace sbx::image {

/// A built template image in the cache.
struct TemplateArtifacts {
  std::string id;       ///< content hash of the template's inputs (hex)
  std::string image;    ///< raw ext4 image, used read-only as a backing file
  uint64_t size_bytes;  ///< virtual (apparent) size of `image`; it is sparse
};

/// Virtual size of a template's file system: the sandbox disk size, so the
/// guest's root fs can use the whole overlay without resizing.
inline constexpr uint64_t kTemplateDiskBytes = 20ULL << 30;

/// The packages of the `shell` template (besides minbase).
std::vector<std::string> shell_template_packages();

/// The customize hook run by mmdebstrap with the root directory as $1: user
/// `agent` (1000:1000, sudo, docker), hostname, hosts, resolv.conf, empty
/// machine-id, apt clean.
std::string shell_template_hook_script();

/// Whether this (non-root) user can build templates: mmdebstrap's unshare
/// mode needs newuidmap and a sub-uid and sub-gid range, packing needs
/// fakeroot. The error says how to fix what is missing.
Result<void> check_rootless_build();

/// The command that turns mmdebstrap's `tarball` into the ext4 `image`,
/// unpacking into the empty dir `tree`; under fakeroot unless `as_root`, so
/// the image keeps the tarball's owners, modes and device nodes.
std::vector<std::string> pack_command(const std::string& tarball, const std::string& tree,
                                      const std::string& image, bool as_root);

/// Returns the cached `shell` template, building it if needed (about a
/// minute with a nearby mirror). Safe against concurrent callers (flock)
/// and crashes (built in a temp dir, renamed into place with a marker).
Result<TemplateArtifacts> ensure_shell_template(const std::string& cache_dir, ProgressFn progress);

}  // namespace sbx::image
