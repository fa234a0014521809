#include "image/layer_applier.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "base/strings.h"

namespace sbx::image {
namespace {

constexpr char kWhiteout[] = ".wh.";
constexpr char kOpaque[] = ".wh..wh..opq";
// Symlinks followed while resolving one path, as Linux's own limit.
constexpr int kMaxLinkHops = 40;

std::vector<std::string> components(const std::string& p) {
  std::vector<std::string> out;
  for (auto& c : split(p, '/'))
    if (!c.empty() && c != ".") out.push_back(c);
  return out;
}

std::string join_path(const std::string& dir, const std::string& name) {
  return dir.empty() ? name : dir + "/" + name;
}

// Staging modes keep the owner able to write and read (the importer may not
// be root); the real bits go into the image from the metadata.
mode_t staging_mode(TarType t, uint32_t mode) {
  return t == TarType::kDir ? ((mode & 0777) | 0700) : ((mode & 0777) | 0600);
}

Result<std::string> read_link_at(int dirfd, const std::string& name) {
  std::string buf(4096, '\0');
  ssize_t n = ::readlinkat(dirfd, name.c_str(), buf.data(), buf.size());
  if (n < 0) return errno_error("readlink " + name);
  buf.resize(static_cast<size_t>(n));
  return buf;
}

}  // namespace

Result<LayerApplier> LayerApplier::open(const std::string& root) {
  Fd fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return errno_error("open staging directory " + root);
  LayerApplier a(std::move(fd));
  a.meta_[""] = NodeMeta{TarType::kDir, 0755, 0, 0};
  return a;
}

// Walks `rel` from the root one component at a time. A symlink is read and
// its target spliced into the remaining walk, relative to the root when
// absolute; ".." stops at the root. So the walk can never leave the root.
Result<LayerApplier::Dir> LayerApplier::resolve_dir(const std::string& rel, bool create) {
  std::vector<std::string> todo = components(rel);
  std::vector<std::string> done;  // canonical components walked so far
  std::vector<Fd> fds;            // fds[i] is the directory after done[0..i]
  auto cur = [&]() { return fds.empty() ? root_.get() : fds.back().get(); };
  int hops = 0;
  size_t i = 0;
  while (i < todo.size()) {
    const std::string c = todo[i++];
    if (c == "..") {
      if (!done.empty()) {
        done.pop_back();
        fds.pop_back();
      }
      continue;
    }
    struct stat st;
    if (::fstatat(cur(), c.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
      if (errno != ENOENT || !create) return errno_error("'" + join_path(join(done, "/"), c) + "'");
      // A parent no layer described: Docker makes it 0755 root:root.
      if (::mkdirat(cur(), c.c_str(), 0755) < 0) return errno_error("mkdir " + c);
      meta_[join_path(join(done, "/"), c)] = NodeMeta{TarType::kDir, 0755, 0, 0};
    } else if (S_ISLNK(st.st_mode)) {
      if (++hops > kMaxLinkHops) return err("too many levels of symbolic links in '" + rel + "'");
      auto target = read_link_at(cur(), c);
      if (!target) return target.error();
      std::vector<std::string> rest = components(*target);
      if (!target->empty() && (*target)[0] == '/') {
        done.clear();
        fds.clear();
      }
      rest.insert(rest.end(), todo.begin() + static_cast<long>(i), todo.end());
      todo = std::move(rest);
      i = 0;
      continue;
    } else if (!S_ISDIR(st.st_mode)) {
      return err("'" + join_path(join(done, "/"), c) + "' is not a directory");
    }
    Fd next(::openat(cur(), c.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next) return errno_error("open " + join_path(join(done, "/"), c));
    done.push_back(c);
    fds.push_back(std::move(next));
  }
  Dir d;
  d.path = join(done, "/");
  d.fd = fds.empty() ? Fd(::dup(root_.get())) : std::move(fds.back());
  if (!d.fd) return errno_error("dup");
  return d;
}

Result<std::string> LayerApplier::read_file(const std::string& path, size_t max) {
  size_t slash = path.rfind('/');
  auto dir = resolve_dir(slash == std::string::npos ? "" : path.substr(0, slash), false);
  if (!dir) return std::string();
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  Fd f(::openat(dir->fd.get(), base.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  struct stat st;
  if (!f || ::fstat(f.get(), &st) < 0 || !S_ISREG(st.st_mode)) return std::string();
  if (static_cast<uint64_t>(st.st_size) > max)
    return err("'" + path + "' is larger than " + std::to_string(max) + " bytes");
  std::string out;
  for (;;) {
    auto chunk = read_some(f.get(), 65536);
    if (!chunk) return chunk.error();
    if (chunk->empty()) break;
    out += *chunk;
    if (out.size() > max) return err("'" + path + "' is larger than " + std::to_string(max));
  }
  return out;
}

void LayerApplier::forget(const std::string& path) {
  meta_.erase(path);
  // Every key below "path/" sorts in ["path/", "path0"): '0' follows '/'.
  meta_.erase(meta_.lower_bound(path + "/"), meta_.lower_bound(path + "0"));
}

Result<void> LayerApplier::remove_path(int dirfd, const std::string& name,
                                       const std::string& path) {
  struct stat st;
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno == ENOENT) return ok();
    return errno_error("stat " + path);
  }
  if (S_ISDIR(st.st_mode)) {
    Fd d(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!d) return errno_error("open " + path);
    DIR* dir = ::fdopendir(::dup(d.get()));
    if (!dir) return errno_error("opendir " + path);
    std::vector<std::string> names;
    while (auto* ent = ::readdir(dir)) {
      std::string n = ent->d_name;
      if (n != "." && n != "..") names.push_back(n);
    }
    ::closedir(dir);
    for (auto& n : names)
      if (auto r = remove_path(d.get(), n, path + "/" + n); !r) return r;
    if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) < 0) return errno_error("rmdir " + path);
  } else if (::unlinkat(dirfd, name.c_str(), 0) < 0) {
    return errno_error("unlink " + path);
  }
  forget(path);
  return ok();
}

// Removes what lower layers left in the directory: everything this layer
// did not write itself, recursing into directories it did write.
Result<void> LayerApplier::make_opaque(int dirfd, const std::string& path) {
  DIR* dir = ::fdopendir(::dup(dirfd));
  if (!dir) return errno_error("opendir " + path);
  std::vector<std::string> names;
  while (auto* ent = ::readdir(dir)) {
    std::string n = ent->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::rewinddir(dir);
  ::closedir(dir);
  for (auto& n : names) {
    std::string child = join_path(path, n);
    if (!this_layer_.count(child)) {
      if (auto r = remove_path(dirfd, n, child); !r) return r;
      continue;
    }
    struct stat st;
    if (::fstatat(dirfd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
      Fd sub(::openat(dirfd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub) return errno_error("open " + child);
      if (auto r = make_opaque(sub.get(), child); !r) return r;
    }
  }
  return ok();
}

Result<void> LayerApplier::apply(TarReader& layer, const std::string& what) {
  this_layer_.clear();
  for (;;) {
    auto e = layer.next();
    if (!e) return e.error().wrap(what);
    if (!*e) break;
    if (auto r = apply_entry(layer, **e); !r)
      return r.error().wrap(what + ": '" + (*e)->path + "'");
  }
  return ok();
}

Result<void> LayerApplier::apply_entry(TarReader& layer, const TarEntry& e) {
  // Scripts that set attributes in the image are line based.
  if (e.path.find_first_of("\n\r") != std::string::npos)
    return err("names with line breaks are not supported");
  if (e.path.empty()) {  // the root directory itself
    if (e.type != TarType::kDir) return err("the archive's root is not a directory");
    meta_[""] = NodeMeta{TarType::kDir, e.mode, e.uid, e.gid};
    return ok();
  }
  size_t slash = e.path.rfind('/');
  std::string parent = slash == std::string::npos ? "" : e.path.substr(0, slash);
  std::string base = slash == std::string::npos ? e.path : e.path.substr(slash + 1);
  auto dir = resolve_dir(parent, true);
  if (!dir) return dir.error();
  int dfd = dir->fd.get();

  if (starts_with(base, kWhiteout)) {
    if (base == kOpaque) return make_opaque(dfd, dir->path);
    std::string victim = base.substr(sizeof kWhiteout - 1);
    if (starts_with(victim, kWhiteout)) return ok();  // other aufs metadata
    if (victim.empty() || victim == "." || victim == "..") return err("bad whiteout");
    return remove_path(dfd, victim, join_path(dir->path, victim));
  }

  std::string path = join_path(dir->path, base);
  struct stat st;
  bool exists = ::fstatat(dfd, base.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
  // A directory over a directory merges; anything else replaces what was there.
  if (exists && !(e.type == TarType::kDir && S_ISDIR(st.st_mode))) {
    if (auto r = remove_path(dfd, base, path); !r) return r;
    exists = false;
  }
  NodeMeta m{e.type, e.mode, e.uid, e.gid, e.dev_major, e.dev_minor};
  mode_t smode = staging_mode(e.type, e.mode);
  switch (e.type) {
    case TarType::kDir:
      if (!exists && ::mkdirat(dfd, base.c_str(), smode) < 0) return errno_error("mkdir");
      if (exists && ::fchmodat(dfd, base.c_str(), smode, 0) < 0) return errno_error("chmod");
      break;
    case TarType::kFile:
    case TarType::kCharDev:  // a placeholder: the ext4 writer makes the node
    case TarType::kBlockDev: {
      Fd f(
          ::openat(dfd, base.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, smode));
      if (!f) return errno_error("create");
      char buf[65536];
      for (;;) {
        auto k = layer.read_data(buf, sizeof buf);
        if (!k) return k.error();
        if (*k == 0) break;
        if (auto w = write_all(f.get(), std::string_view(buf, *k)); !w) return w.error();
      }
      if (::fchmod(f.get(), smode) < 0) return errno_error("chmod");  // umask
      break;
    }
    case TarType::kSymlink:
      if (::symlinkat(e.link.c_str(), dfd, base.c_str()) < 0) return errno_error("symlink");
      break;
    case TarType::kFifo:
      if (::mkfifoat(dfd, base.c_str(), smode) < 0) return errno_error("mkfifo");
      break;
    case TarType::kHardlink: {
      size_t ts = e.link.rfind('/');
      std::string tparent = ts == std::string::npos ? "" : e.link.substr(0, ts);
      std::string tbase = ts == std::string::npos ? e.link : e.link.substr(ts + 1);
      auto tdir = resolve_dir(tparent, false);
      if (!tdir) return tdir.error().wrap("hardlink target '" + e.link + "'");
      struct stat ts_st;
      if (::fstatat(tdir->fd.get(), tbase.c_str(), &ts_st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno_error("hardlink target '" + e.link + "'");
      if (S_ISDIR(ts_st.st_mode)) return err("hardlink to a directory");
      if (::linkat(tdir->fd.get(), tbase.c_str(), dfd, base.c_str(), 0) < 0)
        return errno_error("link to '" + e.link + "'");
      // Both names are one inode: they share the target's attributes.
      auto t = meta_.find(join_path(tdir->path, tbase));
      m = t != meta_.end() ? t->second : NodeMeta{TarType::kFile, e.mode, e.uid, e.gid};
      break;
    }
  }
  meta_[path] = m;
  this_layer_.insert(path);
  return ok();
}

}  // namespace sbx::image
