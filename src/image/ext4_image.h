// Packs a staged root tree into an ext4 image without root: mke2fs -d copies
// the tree (contents, symlinks, hard links), then one debugfs script sets
// every inode's real owner and mode and makes the device nodes, from the
// metadata the layer applier recorded. No fakeroot, no mounting.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "base/result.h"
#include "image/layer_applier.h"

namespace sbx::image {

/// The debugfs commands that give every path in `meta` its owner, mode and
/// (for devices) node type. Pure; one command per line, paths quoted.
std::string ext4_attr_script(const std::map<std::string, NodeMeta>& meta);

/// Size for an image holding `content_bytes` in `entries` inodes: the
/// content plus headroom for metadata and journal, at least `min_bytes`.
uint64_t ext4_image_size(uint64_t content_bytes, uint64_t entries, uint64_t min_bytes);

/// Writes `image` (sparse, `bytes` long) from `root` and applies `meta`.
/// Tool output goes to `log`; errors quote its tail.
Result<void> write_ext4_image(const std::string& root, const std::map<std::string, NodeMeta>& meta,
                              const std::string& image, uint64_t bytes, const std::string& log);

}  // namespace sbx::image
