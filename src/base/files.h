// File-system helpers and an RAII temporary directory.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"

namespace sbx {

Result<std::string> read_file(const std::string& path);
/// Writes via a temp file + rename so readers never see a partial file.
Result<void> write_file_atomic(const std::string& path, const std::string& data,
                               int mode = 0644);
/// mkdir -p with the given mode for created directories.
Result<void> make_dirs(const std::string& path, int mode = 0755);
/// rm -rf; succeeds if the path does not exist. Does not follow symlinks.
Result<void> remove_tree(const std::string& path);
bool path_exists(const std::string& path);
bool is_directory(const std::string& path);
/// Makes a path absolute and lexically normal, resolving symlinks when it
/// exists (realpath).
Result<std::string> absolute_path(const std::string& path);
/// Directory holding the running executable.
Result<std::string> self_exe_dir();
/// Lists names in a directory (without . and ..).
Result<std::vector<std::string>> list_dir(const std::string& path);

/// A directory removed with its contents on destruction.
class TempDir {
 public:
  static Result<TempDir> create(const std::string& prefix = "sbx");
  TempDir(TempDir&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
  TempDir& operator=(TempDir&&) = delete;
  TempDir(const TempDir&) = delete;
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  explicit TempDir(std::string p) : path_(std::move(p)) {}
  std::string path_;
};

}  // namespace sbx
