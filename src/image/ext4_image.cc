#include "image/ext4_image.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

#include "base/child_process.h"
#include "base/fd.h"
#include "base/files.h"
#include "base/strings.h"

namespace sbx::image {
namespace {

// debugfs's parser (libss) reads "..." as one word and "" inside it as a
// literal quote; names with line breaks were refused by the applier.
std::string quote(const std::string& rel) {
  std::string out = "\"/";
  for (char c : rel) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

uint32_t type_bits(TarType t) {
  switch (t) {
    case TarType::kDir:
      return 0040000;
    case TarType::kSymlink:
      return 0120000;
    case TarType::kCharDev:
      return 0020000;
    case TarType::kBlockDev:
      return 0060000;
    case TarType::kFifo:
      return 0010000;
    case TarType::kFile:
    case TarType::kHardlink:
      return 0100000;
  }
  return 0100000;
}

std::string octal(uint32_t v) {
  char b[16];
  std::snprintf(b, sizeof b, "0%o", v);
  return b;
}

// Runs argv with output appended to `log`; returns its stderr.
Result<std::string> run(const std::vector<std::string>& argv, const std::string& log) {
  Fd out(::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!out) return errno_error("open " + log);
  std::string errlog = log + ".stderr";
  Fd errfd(::open(errlog.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!errfd) return errno_error("open " + errlog);
  Fd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  (void)write_all(out.get(), "+ " + join(argv, " ") + "\n");
  SpawnOptions o;
  o.argv = argv;
  o.stdin_fd = devnull.get();
  o.stdout_fd = out.get();
  o.stderr_fd = errfd.get();
  o.die_with_parent = true;
  auto child = ChildProcess::spawn(o);
  if (!child) return child.error();
  auto st = child->wait();
  if (!st) return st.error();
  auto text = read_file(errlog);
  std::string errs = text ? *text : "";
  (void)write_all(out.get(), errs);
  ::unlink(errlog.c_str());
  if (!st->exited || st->code != 0)
    return err(argv[0] + " failed (" + st->describe() + "): " + trim(errs.substr(0, 2000)) +
               " (log " + log + ")");
  return errs;
}

}  // namespace

std::string ext4_attr_script(const std::map<std::string, NodeMeta>& meta) {
  std::string s;
  for (auto& [path, m] : meta) {
    std::string q = quote(path);
    if (m.type == TarType::kCharDev || m.type == TarType::kBlockDev) {
      // The applier left a placeholder file: replace it by the real node.
      // mknod names an entry of the current directory, not a path.
      size_t slash = path.rfind('/');
      std::string parent = slash == std::string::npos ? "" : path.substr(0, slash);
      std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
      std::string qbase = quote(base).erase(1, 1);  // no leading "/"
      s += "rm " + q + "\n";
      s += "cd " + quote(parent) + "\n";
      s += "mknod " + qbase + (m.type == TarType::kCharDev ? " c " : " b ") +
           std::to_string(m.dev_major) + " " + std::to_string(m.dev_minor) + "\ncd /\n";
    }
    s += "sif " + q + " uid " + std::to_string(m.uid) + "\n";
    s += "sif " + q + " gid " + std::to_string(m.gid) + "\n";
    // A symlink's own mode bits mean nothing; keep what mke2fs wrote.
    if (m.type != TarType::kSymlink)
      s += "sif " + q + " mode " + octal(type_bits(m.type) | (m.mode & 07777)) + "\n";
  }
  return s;
}

uint64_t ext4_image_size(uint64_t content_bytes, uint64_t entries, uint64_t min_bytes) {
  // Half again the content for block rounding, directories and free space
  // for the guest's first writes; 4 KiB per inode; 64 MiB journal and
  // superblock copies. Rounded up to MiB.
  uint64_t want = content_bytes + content_bytes / 2 + entries * 4096 + (64ULL << 20);
  want = (want + (1ULL << 20) - 1) & ~((1ULL << 20) - 1);
  return want < min_bytes ? min_bytes : want;
}

Result<void> write_ext4_image(const std::string& root, const std::map<std::string, NodeMeta>& meta,
                              const std::string& image, uint64_t bytes, const std::string& log) {
  // As for the shell template: inode tables zeroed once here, not in every
  // guest; no blocks reserved for root.
  auto mk = run({"mkfs.ext4", "-F", "-q", "-L", "sbx-root", "-m", "0", "-E",
                 "lazy_itable_init=0,lazy_journal_init=0", "-d", root, image,
                 std::to_string(bytes / 1024) + "k"},
                log);
  if (!mk) return mk.error().wrap("mkfs.ext4 (needs e2fsprogs >= 1.43 for -d)");
  std::string script_path = image + ".debugfs";
  if (auto r = write_file_atomic(script_path, ext4_attr_script(meta)); !r) return r;
  auto dbg = run({"debugfs", "-w", "-f", script_path, image}, log);
  ::unlink(script_path.c_str());
  if (!dbg) return dbg.error().wrap("debugfs");
  // debugfs exits 0 even when a command fails; it says so on stderr. Its
  // only other stderr line is the version banner.
  for (auto& line : split(*dbg, '\n')) {
    std::string l = trim(line);
    if (l.empty() || starts_with(l, "debugfs ")) continue;
    return err("debugfs: setting owners and modes in the image failed: " + l + " (log " + log +
               ")");
  }
  return ok();
}

}  // namespace sbx::image
