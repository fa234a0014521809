#include "agent/user_db.h"

#include <algorithm>

#include "base/files.h"
#include "base/strings.h"

namespace sbx::agent {

namespace {

std::optional<uint32_t> parse_id(const std::string& s) {
  auto n = parse_uint(s);
  if (!n || *n > 0xFFFFFFFFu) return std::nullopt;
  return static_cast<uint32_t>(*n);
}

std::vector<std::string> lines_of(std::string_view text) {
  std::vector<std::string> out;
  for (auto& l : split(text, '\n')) {
    std::string line = l;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    out.push_back(std::move(line));
  }
  return out;
}

}  // namespace

std::vector<PasswdEntry> parse_passwd(std::string_view text) {
  std::vector<PasswdEntry> out;
  for (auto& line : lines_of(text)) {
    auto f = split(line, ':');
    if (f.size() != 7 || f[0].empty()) continue;
    auto uid = parse_id(f[2]);
    auto gid = parse_id(f[3]);
    if (!uid || !gid) continue;
    out.push_back(PasswdEntry{f[0], *uid, *gid, f[4], f[5], f[6]});
  }
  return out;
}

std::vector<GroupEntry> parse_group(std::string_view text) {
  std::vector<GroupEntry> out;
  for (auto& line : lines_of(text)) {
    auto f = split(line, ':');
    if (f.size() != 4 || f[0].empty()) continue;
    auto gid = parse_id(f[2]);
    if (!gid) continue;
    GroupEntry g{f[0], *gid, {}};
    if (!f[3].empty())
      for (auto& m : split(f[3], ','))
        if (!m.empty()) g.members.push_back(m);
    out.push_back(std::move(g));
  }
  return out;
}

UserDb UserDb::load(const std::string& passwd_path, const std::string& group_path) {
  auto p = read_file(passwd_path);
  auto g = read_file(group_path);
  return UserDb(p ? parse_passwd(*p) : std::vector<PasswdEntry>{},
                g ? parse_group(*g) : std::vector<GroupEntry>{});
}

std::optional<PasswdEntry> UserDb::find_user(std::string_view name_or_uid) const {
  for (auto& u : users_)
    if (u.name == name_or_uid) return u;
  if (auto id = parse_id(std::string(name_or_uid))) return find_uid(*id);
  return std::nullopt;
}

std::optional<PasswdEntry> UserDb::find_uid(uint32_t uid) const {
  for (auto& u : users_)
    if (u.uid == uid) return u;
  return std::nullopt;
}

std::vector<uint32_t> UserDb::groups_of(const PasswdEntry& user) const {
  std::vector<uint32_t> out{user.gid};
  for (auto& g : groups_) {
    if (std::find(g.members.begin(), g.members.end(), user.name) == g.members.end())
      continue;
    if (std::find(out.begin(), out.end(), g.gid) == out.end()) out.push_back(g.gid);
  }
  return out;
}

}  // namespace sbx::agent
