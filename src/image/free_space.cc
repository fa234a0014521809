#include "image/free_space.h"

#include <sys/statvfs.h>

#include "base/strings.h"

namespace sbx::image {

std::optional<uint64_t> free_bytes(const std::string& dir) {
  struct statvfs s;
  if (::statvfs(dir.c_str(), &s) != 0) return std::nullopt;
  return static_cast<uint64_t>(s.f_bavail) * s.f_frsize;
}

Result<void> require_space(const std::string& what, const std::string& dir, uint64_t need,
                           std::optional<uint64_t> available) {
  if (!available || *available >= need) return ok();
  return err(kInsufficientStorage,
             "not enough free disk space to " + what + " in " + dir + ": " +
                 format_size(*available) + " available, at least " + format_size(need) +
                 " needed. Free some space (e.g. 'sbx prune', 'sbx template rm TAG') and retry.");
}

Result<void> check_free_space(const std::string& what, const std::string& dir, uint64_t need) {
  return require_space(what, dir, need, free_bytes(dir));
}

}  // namespace sbx::image
