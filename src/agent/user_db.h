// /etc/passwd and /etc/group, read directly: a static glibc binary cannot use
// NSS (getpwnam and getgrouplist want to dlopen modules).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace sbx::agent {

/// One /etc/passwd line.
struct PasswdEntry {
  std::string name;
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::string gecos;
  std::string home;
  std::string shell;
};

/// One /etc/group line.
struct GroupEntry {
  std::string name;
  uint32_t gid = 0;
  std::vector<std::string> members;
};

/// Parses passwd(5) text; malformed lines and comments are skipped.
std::vector<PasswdEntry> parse_passwd(std::string_view text);
/// Parses group(5) text; malformed lines and comments are skipped.
std::vector<GroupEntry> parse_group(std::string_view text);

/// The user database of one root file system.
class UserDb {
 public:
  UserDb(std::vector<PasswdEntry> users, std::vector<GroupEntry> groups)
      : users_(std::move(users)), groups_(std::move(groups)) {}
  /// Reads both files. A missing file yields an empty table, not an error
  /// (a minimal root may lack /etc/group).
  static UserDb load(const std::string& passwd_path = "/etc/passwd",
                     const std::string& group_path = "/etc/group");

  /// Finds a user by name, or by numeric uid when `name_or_uid` is a number
  /// no entry is named after.
  std::optional<PasswdEntry> find_user(std::string_view name_or_uid) const;
  /// Finds a user by uid.
  std::optional<PasswdEntry> find_uid(uint32_t uid) const;
  /// The user's groups for setgroups(): the primary gid first, then every
  /// group listing the user as a member, without duplicates.
  std::vector<uint32_t> groups_of(const PasswdEntry& user) const;

  const std::vector<PasswdEntry>& users() const { return users_; }
  const std::vector<GroupEntry>& groups() const { return groups_; }

 private:
  std::vector<PasswdEntry> users_;
  std::vector<GroupEntry> groups_;
};

}  // namespace sbx::agent
