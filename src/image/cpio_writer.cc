#include "image/cpio_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "base/strings.h"

namespace sbx::image {
namespace {

constexpr size_t kFlushAt = 1 << 20;
// newc stores sizes in 8 hex digits.
constexpr uint64_t kMaxEntrySize = 0xffffffffULL;

}  // namespace

Result<CpioWriter> CpioWriter::create(const std::string& path) {
  std::string tmp = path + ".tmp";
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) return errno_error("create " + tmp);
  return CpioWriter(std::move(fd), path);
}

CpioWriter::~CpioWriter() {
  if (!finished_ && !path_.empty()) {
    ::unlink((path_ + ".tmp").c_str());
  }
}

Result<std::string> CpioWriter::normalize(std::string_view path) {
  std::vector<std::string> parts;
  for (auto& p : split(path, '/')) {
    if (p.empty() || p == ".") continue;
    if (p == "..") return err("cpio: '..' not allowed in " + std::string(path));
    parts.push_back(p);
  }
  if (parts.empty()) return err("cpio: empty path");
  return join(parts, "/");
}

Result<void> CpioWriter::write_bytes(std::string_view data) {
  buffer_.append(data);
  offset_ += data.size();
  if (buffer_.size() >= kFlushAt) {
    auto w = write_all(fd_.get(), buffer_);
    if (!w) return w.error().wrap("write " + path_);
    buffer_.clear();
  }
  return ok();
}

Result<void> CpioWriter::pad4() {
  static const char zeros[4] = {0, 0, 0, 0};
  size_t pad = (4 - offset_ % 4) % 4;
  return write_bytes(std::string_view(zeros, pad));
}

Result<void> CpioWriter::write_header(const std::string& name, uint32_t mode,
                                      uint64_t file_size, uint32_t rdev_major,
                                      uint32_t rdev_minor) {
  if (finished_) return err("cpio: archive already finished");
  if (file_size > kMaxEntrySize) return err("cpio: " + name + " is too large");
  bool is_dir = (mode & S_IFMT) == S_IFDIR;
  char hdr[111];
  // magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor,
  // rdevmajor, rdevminor, namesize (with NUL), check.
  std::snprintf(hdr, sizeof hdr,
                "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
                name == "TRAILER!!!" ? 0u : next_ino_++, mode, 0u, 0u,
                is_dir ? 2u : 1u, 0u, static_cast<uint32_t>(file_size), 0u, 0u,
                rdev_major, rdev_minor, static_cast<uint32_t>(name.size() + 1), 0u);
  if (auto r = write_bytes(std::string_view(hdr, 110)); !r) return r;
  if (auto r = write_bytes(std::string_view(name.c_str(), name.size() + 1)); !r)
    return r;
  return pad4();
}

Result<void> CpioWriter::add_parents(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ok();
  std::string parent = path.substr(0, slash);
  if (dirs_.count(parent)) return ok();
  if (auto r = add_parents(parent); !r) return r;
  if (names_.count(parent)) return err("cpio: " + parent + " is not a directory");
  dirs_.insert(parent);
  names_.insert(parent);
  return write_header(parent, S_IFDIR | 0755, 0);
}

Result<void> CpioWriter::add_dir(std::string_view path, uint32_t mode) {
  auto name = normalize(path);
  if (!name) return name.error();
  if (dirs_.count(*name)) return ok();
  if (names_.count(*name)) return err("cpio: duplicate entry " + *name);
  if (auto r = add_parents(*name); !r) return r;
  dirs_.insert(*name);
  names_.insert(*name);
  return write_header(*name, S_IFDIR | (mode & 07777), 0);
}

Result<void> CpioWriter::add_file(std::string_view path, std::string_view bytes,
                                  uint32_t mode) {
  auto name = normalize(path);
  if (!name) return name.error();
  if (names_.count(*name)) return err("cpio: duplicate entry " + *name);
  if (auto r = add_parents(*name); !r) return r;
  names_.insert(*name);
  if (auto r = write_header(*name, S_IFREG | (mode & 07777), bytes.size()); !r)
    return r;
  if (auto r = write_bytes(bytes); !r) return r;
  return pad4();
}

Result<void> CpioWriter::add_file_from(std::string_view path,
                                       const std::string& source_path,
                                       uint32_t mode) {
  Fd in(::open(source_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in) return errno_error("open " + source_path);
  struct stat st;
  if (::fstat(in.get(), &st) < 0) return errno_error("stat " + source_path);
  if (!S_ISREG(st.st_mode)) return err(source_path + " is not a regular file");
  auto name = normalize(path);
  if (!name) return name.error();
  if (names_.count(*name)) return err("cpio: duplicate entry " + *name);
  if (auto r = add_parents(*name); !r) return r;
  names_.insert(*name);
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (auto r = write_header(*name, S_IFREG | (mode & 07777), size); !r) return r;
  uint64_t copied = 0;
  char buf[1 << 16];
  while (copied < size) {
    ssize_t n = ::read(in.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("read " + source_path);
    if (n == 0) break;
    size_t take = static_cast<size_t>(std::min<uint64_t>(n, size - copied));
    if (auto r = write_bytes(std::string_view(buf, take)); !r) return r;
    copied += take;
  }
  // The header already promised `size` bytes; a file that shrank under us
  // would corrupt every later entry.
  if (copied != size) return err(source_path + " changed size while archiving");
  return pad4();
}

Result<void> CpioWriter::add_symlink(std::string_view path, std::string_view target) {
  auto name = normalize(path);
  if (!name) return name.error();
  if (names_.count(*name)) return err("cpio: duplicate entry " + *name);
  if (auto r = add_parents(*name); !r) return r;
  names_.insert(*name);
  if (auto r = write_header(*name, S_IFLNK | 0777, target.size()); !r) return r;
  if (auto r = write_bytes(target); !r) return r;
  return pad4();
}

Result<void> CpioWriter::add_char_device(std::string_view path, uint32_t mode,
                                         uint32_t major, uint32_t minor) {
  auto name = normalize(path);
  if (!name) return name.error();
  if (names_.count(*name)) return err("cpio: duplicate entry " + *name);
  if (auto r = add_parents(*name); !r) return r;
  names_.insert(*name);
  return write_header(*name, S_IFCHR | (mode & 07777), 0, major, minor);
}

Result<void> CpioWriter::finish() {
  if (auto r = write_header("TRAILER!!!", 0, 0); !r) return r;
  auto w = write_all(fd_.get(), buffer_);
  if (!w) return w.error().wrap("write " + path_);
  buffer_.clear();
  if (::fsync(fd_.get()) < 0) return errno_error("fsync " + path_);
  fd_.reset();
  std::string tmp = path_ + ".tmp";
  if (::rename(tmp.c_str(), path_.c_str()) < 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return errno_error("rename " + tmp, e);
  }
  finished_ = true;
  return ok();
}

}  // namespace sbx::image
