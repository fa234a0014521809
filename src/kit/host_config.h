// The user's own agent settings that come along into a sandbox: given the
// kit's host_config list and the user's home, which files to copy and with
// what bytes. Files that look like they hold a token are refused, by name
// and by content; sizes and counts are bounded; symlinks are not followed
// out of home. The bytes returned are the bytes checked, so the caller
// copies exactly what was scanned (no second read that could differ).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kit/kit.h"

namespace sbx::kit {

/// Bounds on what is copied.
struct HostConfigLimits {
  uint64_t max_file_bytes = 256 * 1024;
  uint64_t max_total_bytes = 4 * 1024 * 1024;
  size_t max_files = 256;
  int max_depth = 6;  ///< directory levels below a host_config directory
};

/// A file to copy: `path` relative to the home directory, on the host and
/// in the sandbox alike.
struct SelectedFile {
  std::string path;
  std::string content;
  uint32_t mode = 0600;
};

/// A file found but not copied, and why (never quoting the file's bytes).
struct SkippedFile {
  std::string path;
  std::string reason;
};

/// What select_host_config decided.
struct HostConfigSelection {
  std::vector<SelectedFile> files;  ///< in a stable order (sorted by path)
  std::vector<SkippedFile> skipped;
};

/// For each host_config entry (a file, or a directory taken recursively),
/// the files under `home` to copy. Entries that do not exist are left out
/// silently (most users have only some of an agent's files); everything
/// else that is not copied is listed in `skipped` with the reason.
HostConfigSelection select_host_config(const std::vector<HostConfig>& wanted,
                                       const std::string& home,
                                       const HostConfigLimits& limits = {});

}  // namespace sbx::kit
