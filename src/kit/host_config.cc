#include "kit/host_config.h"

#include <sys/stat.h>

#include <algorithm>
#include <set>

#include "base/files.h"
#include "base/strings.h"
#include "kit/bounded_file.h"
#include "kit/secret_patterns.h"

namespace sbx::kit {

namespace {

class Selector {
 public:
  Selector(std::string home, const HostConfigLimits& limits)
      : home_(std::move(home)), limits_(limits) {}

  void entry(const std::string& rel) {
    std::string r = rel;
    while (ends_with(r, "/")) r.pop_back();
    if (r.empty()) return;
    visit(r, 0);
  }

  HostConfigSelection done() {
    std::sort(out_.files.begin(), out_.files.end(),
              [](const SelectedFile& a, const SelectedFile& b) { return a.path < b.path; });
    return std::move(out_);
  }

 private:
  void skip(const std::string& rel, std::string reason) {
    out_.skipped.push_back(SkippedFile{rel, std::move(reason)});
  }

  void visit(const std::string& rel, int depth) {
    if (!seen_.insert(rel).second) return;  // two entries naming the same file
    // Symlinked directories can fan out; the walk itself is bounded too.
    if (++visits_ > 16 * limits_.max_files) {
      if (visits_ == 16 * limits_.max_files + 1) skip(rel, "too many entries; stopped looking");
      return;
    }
    std::string path = home_ + "/" + rel;
    struct stat lst {};
    if (::lstat(path.c_str(), &lst) != 0) return;  // absent: nothing to copy
    if (auto why = secret_name_reason(rel))
      return skip(rel, "looks like a credentials file: " + *why);
    // Symlinks may point anywhere inside home, never out of it.
    auto real = absolute_path(path);
    if (!real) return skip(rel, "cannot resolve: " + real.error().message);
    if (!path_within(home_, *real)) return skip(rel, "a symlink to " + *real + ", outside home");
    struct stat st {};
    if (::stat(real->c_str(), &st) != 0) return skip(rel, "cannot stat");
    if (S_ISDIR(st.st_mode)) {
      if (depth >= limits_.max_depth)
        return skip(rel, "deeper than " + std::to_string(limits_.max_depth) + " directory levels");
      auto names = list_dir(*real);
      if (!names) return skip(rel, names.error().message);
      std::sort(names->begin(), names->end());
      for (auto& n : *names) visit(rel + "/" + n, depth + 1);
      return;
    }
    if (!S_ISREG(st.st_mode)) return skip(rel, "not a regular file");
    if (out_.files.size() >= limits_.max_files)
      return skip(rel, "more than " + std::to_string(limits_.max_files) + " files");
    auto file = read_file_within(home_, path, limits_.max_file_bytes);
    if (!file) return skip(rel, file.error().message);
    if (auto why = secret_content_reason(file->content))
      return skip(rel, "looks like it holds a token: " + *why);
    if (total_ + file->content.size() > limits_.max_total_bytes)
      return skip(rel, "the files copied would exceed " + std::to_string(limits_.max_total_bytes) +
                           " bytes");
    total_ += file->content.size();
    out_.files.push_back(SelectedFile{rel, std::move(file->content), file->mode});
  }

  std::string home_;
  HostConfigLimits limits_;
  HostConfigSelection out_;
  std::set<std::string> seen_;
  uint64_t total_ = 0;
  size_t visits_ = 0;
};

}  // namespace

HostConfigSelection select_host_config(const std::vector<HostConfig>& wanted,
                                       const std::string& home, const HostConfigLimits& limits) {
  auto real_home = absolute_path(home);
  if (!real_home || !is_directory(*real_home)) return {};
  Selector s(*real_home, limits);
  for (auto& w : wanted) {
    // The parser refuses these; a Kit built in code gets the same rule.
    if (w.path.empty() || w.path[0] == '/' || w.path.find("..") != std::string::npos) continue;
    s.entry(w.path);
  }
  return s.done();
}

}  // namespace sbx::kit
