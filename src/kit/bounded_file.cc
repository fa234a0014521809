#include "kit/bounded_file.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "base/fd.h"
#include "base/files.h"

namespace sbx::kit {

bool path_within(const std::string& root, const std::string& path) {
  if (root == "/") return !path.empty() && path[0] == '/';
  return path == root || (path.size() > root.size() && path.compare(0, root.size(), root) == 0 &&
                          path[root.size()] == '/');
}

Result<BoundedFile> read_file_within(const std::string& root, const std::string& path,
                                     uint64_t max_bytes) {
  auto real_root = absolute_path(root);
  if (!real_root) return real_root.error();
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!fd) return errno_error("open " + path);
  // Where the descriptor really points, whatever the path said on the way.
  char buf[PATH_MAX];
  std::string link = "/proc/self/fd/" + std::to_string(fd.get());
  ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
  if (n < 0) return errno_error("resolve " + path);
  std::string real(buf, static_cast<size_t>(n));
  if (!path_within(*real_root, real))
    return err(kBadRequest, path + " resolves to " + real + ", outside " + *real_root);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return errno_error("stat " + path);
  if (!S_ISREG(st.st_mode)) return err(kBadRequest, path + " is not a regular file");
  if (static_cast<uint64_t>(st.st_size) > max_bytes)
    return err(kBadRequest, path + " is " + std::to_string(st.st_size) + " bytes, over the " +
                                std::to_string(max_bytes) + "-byte limit");
  // Regular files do not block; clear the flag anyway for a plain read loop.
  (void)::fcntl(fd.get(), F_SETFL, 0);
  BoundedFile out;
  out.mode = st.st_mode & 07777;
  char chunk[65536];
  for (;;) {
    ssize_t r = ::read(fd.get(), chunk, sizeof chunk);
    if (r < 0) {
      if (errno == EINTR) continue;
      return errno_error("read " + path);
    }
    if (r == 0) break;
    out.content.append(chunk, static_cast<size_t>(r));
    // The file may grow after fstat: the bound holds on what is read.
    if (out.content.size() > max_bytes)
      return err(kBadRequest, path + " grew over the " + std::to_string(max_bytes) + "-byte limit");
  }
  return out;
}

}  // namespace sbx::kit
