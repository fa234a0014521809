// Renumbering the `agent` user so that its uid matches the host user's:
// workspace files shared over 9p/virtio-fs then keep their owner on both
// sides. The text rewrite is pure (unit-tested); the chown walk is not.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace sbx::agent {

/// The outcome of remap_user_text().
struct UidRemap {
  std::string passwd;  ///< rewritten /etc/passwd text
  std::string group;   ///< rewritten /etc/group text
  uint32_t old_uid = 0, old_gid = 0;
  uint32_t new_uid = 0, new_gid = 0;
  bool changed = false;  ///< false: nothing to do (already matching)
  std::string note;      ///< why the gid was kept, or a uid clash warning
};

/// Gives `user` the uid `new_uid` and, if `new_gid` is set and no other group
/// uses it, moves the user's primary group to `new_gid` (group entry and the
/// passwd gid field). Lines other than the rewritten fields are preserved
/// byte for byte. Fails if the user does not exist.
Result<UidRemap> remap_user_text(std::string_view passwd, std::string_view group,
                                 const std::string& user, uint32_t new_uid,
                                 std::optional<uint32_t> new_gid);

/// lchown()s every entry under `dir` (not following symlinks, not crossing
/// mount points) whose owner is `old_uid` / group is `old_gid` to the new ids.
Result<void> rechown_tree(const std::string& dir, uint32_t old_uid, uint32_t old_gid,
                          uint32_t new_uid, uint32_t new_gid);

}  // namespace sbx::agent
