// Per-sandbox disks: a qcow2 overlay whose backing file is a template image,
// so creating a sandbox copies nothing and templates are shared read-only.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"

namespace sbx::image {

/// Creates `overlay_path` (qcow2, virtual size `size_bytes`) backed by
/// `backing_image` (stored as an absolute path) of `backing_format` ("raw"
/// for a base template, "qcow2" for a layer). Fails if `overlay_path`
/// already exists rather than clobbering a sandbox's disk.
Result<void> create_overlay(const std::string& backing_image, const std::string& overlay_path,
                            uint64_t size_bytes, const std::string& backing_format = "raw");

/// Deletes an overlay; succeeds if it does not exist.
Result<void> remove_overlay(const std::string& overlay_path);

}  // namespace sbx::image
