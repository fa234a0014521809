#include "agent/uid_remap.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "agent/user_db.h"
#include "base/strings.h"

namespace sbx::agent {

namespace {

// Rewrites field `idx` of the colon-separated line whose first field is
// `name`. Returns the number of lines changed.
int rewrite_field(std::string& text, const std::string& name, size_t idx,
                  const std::string& value, size_t expected_fields) {
  auto lines = split(text, '\n');
  int changed = 0;
  for (auto& line : lines) {
    auto f = split(line, ':');
    if (f.size() != expected_fields || f[0] != name) continue;
    f[idx] = value;
    line = join(f, ":");
    ++changed;
  }
  text = join(lines, "\n");
  return changed;
}

}  // namespace

Result<UidRemap> remap_user_text(std::string_view passwd, std::string_view group,
                                 const std::string& user, uint32_t new_uid,
                                 std::optional<uint32_t> new_gid) {
  UserDb db(parse_passwd(passwd), parse_group(group));
  auto u = db.find_user(user);
  if (!u || u->name != user) return err("user '" + user + "' not found in /etc/passwd");
  UidRemap r;
  r.passwd = std::string(passwd);
  r.group = std::string(group);
  r.old_uid = r.new_uid = u->uid;
  r.old_gid = r.new_gid = u->gid;

  if (new_uid != u->uid) {
    if (auto other = db.find_uid(new_uid))
      r.note = "uid " + std::to_string(new_uid) + " is also used by '" + other->name +
               "'; sharing it";
    r.new_uid = new_uid;
    rewrite_field(r.passwd, user, 2, std::to_string(new_uid), 7);
    r.changed = true;
  }
  if (new_gid && *new_gid != u->gid) {
    const GroupEntry* primary = nullptr;
    bool taken = false;
    for (auto& g : db.groups()) {
      if (g.gid == u->gid && !primary) primary = &g;
      if (g.gid == *new_gid) taken = true;
    }
    if (taken) {
      r.note += std::string(r.note.empty() ? "" : "; ") + "gid " +
                std::to_string(*new_gid) + " is taken; keeping gid " +
                std::to_string(u->gid);
    } else {
      r.new_gid = *new_gid;
      rewrite_field(r.passwd, user, 3, std::to_string(*new_gid), 7);
      if (primary) rewrite_field(r.group, primary->name, 2, std::to_string(*new_gid), 4);
      r.changed = true;
    }
  }
  return r;
}

Result<void> rechown_tree(const std::string& dir, uint32_t old_uid, uint32_t old_gid,
                          uint32_t new_uid, uint32_t new_gid) {
  // nftw's callback cannot carry state, and a static/global would be a
  // mutable global; a small explicit stack walk avoids both.
  struct stat root_st;
  if (lstat(dir.c_str(), &root_st) < 0) return errno_error("stat " + dir);
  std::vector<std::string> stack{dir};
  int failures = 0;
  while (!stack.empty()) {
    std::string path = std::move(stack.back());
    stack.pop_back();
    struct stat st;
    if (lstat(path.c_str(), &st) < 0) continue;
    if (st.st_dev != root_st.st_dev) continue;  // another mount (a workspace)
    uid_t u = st.st_uid == old_uid ? new_uid : static_cast<uid_t>(-1);
    gid_t g = st.st_gid == old_gid ? new_gid : static_cast<gid_t>(-1);
    if ((u != static_cast<uid_t>(-1) || g != static_cast<gid_t>(-1)) &&
        lchown(path.c_str(), u, g) < 0)
      ++failures;
    // lchown clears set-id bits on executables; restore them for files we own.
    if (S_ISREG(st.st_mode) && (st.st_mode & (S_ISUID | S_ISGID)))
      (void)chmod(path.c_str(), st.st_mode & 07777);
    if (!S_ISDIR(st.st_mode)) continue;
    DIR* d = opendir(path.c_str());
    if (!d) continue;
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n == "." || n == "..") continue;
      stack.push_back(path + "/" + n);
    }
    closedir(d);
  }
  if (failures) return err("chown failed for " + std::to_string(failures) + " entries under " + dir);
  return ok();
}

}  // namespace sbx::agent
