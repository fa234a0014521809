// Applies image layers (tar streams) in order into a staging directory, the
// way a container runtime would: whiteouts (".wh.NAME") delete what lower
// layers put there, an opaque marker (".wh..wh..opq") hides a directory's
// lower contents. Every path is resolved inside the staging root with
// openat and O_NOFOLLOW: a symlink in a layer is followed with the root as
// "/", never out of it. Ownership, modes and device nodes are recorded
// rather than applied (the importer may not run as root); the ext4 writer
// applies them to the image.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "base/fd.h"
#include "base/result.h"
#include "image/tar_reader.h"

namespace sbx::image {

/// The attributes a path must have in the final image.
struct NodeMeta {
  TarType type = TarType::kDir;
  uint32_t mode = 0755;  ///< 07777 bits
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t dev_major = 0;  ///< char/block devices only
  uint32_t dev_minor = 0;
};

/// Applies layers into one staging root it holds open.
class LayerApplier {
 public:
  /// Opens `root`, an existing (normally empty) directory.
  static Result<LayerApplier> open(const std::string& root);

  /// Applies one layer; `what` names it in errors. Stops at the first
  /// entry it refuses, leaving the staging tree half-applied (the caller
  /// discards it).
  Result<void> apply(TarReader& layer, const std::string& what);

  /// Intended attributes of every path in the tree, by canonical relative
  /// path ("" is the root). Paths the layers never described (parents made
  /// implicitly) get 0755 root:root, as Docker does.
  const std::map<std::string, NodeMeta>& metadata() const { return meta_; }
  /// Reads a regular file of the tree (symlinks in its parents resolved
  /// inside the root, the file itself not followed); "" when it is absent
  /// or not a regular file, an error when larger than `max`.
  Result<std::string> read_file(const std::string& path, size_t max);

 private:
  explicit LayerApplier(Fd root) : root_(std::move(root)) {}
  struct Dir {
    Fd fd;
    std::string path;  // canonical, relative to the root
  };
  Result<Dir> resolve_dir(const std::string& rel, bool create);
  Result<void> apply_entry(TarReader& layer, const TarEntry& e);
  Result<void> remove_path(int dirfd, const std::string& name, const std::string& path);
  Result<void> make_opaque(int dirfd, const std::string& path);
  void forget(const std::string& path);

  Fd root_;
  std::map<std::string, NodeMeta> meta_;
  std::set<std::string> this_layer_;  // canonical paths the current layer wrote
};

}  // namespace sbx::image
