#include "agent/docker_storage.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "base/files.h"

namespace sbx::agent {

using namespace std::chrono_literals;

bool all_zero(std::string_view head) {
  return std::all_of(head.begin(), head.end(), [](char c) { return c == '\0'; });
}

std::string find_dockerd(const std::string& root) {
  for (const char* p : {"/usr/bin/dockerd", "/usr/sbin/dockerd"}) {
    std::string full = root + p;
    if (access(full.c_str(), X_OK) == 0) return p;
  }
  return "";
}

namespace {

Result<void> run_mkfs(const std::string& disk) {
  const char* mkfs = "/sbin/mkfs.ext4";
  pid_t pid = fork();
  if (pid < 0) return errno_error("fork");
  if (pid == 0) {
    const char* argv[] = {mkfs, "-q", "-F", "-L", "sbx-docker", disk.c_str(), nullptr};
    const char* envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", nullptr};
    execve(mkfs, const_cast<char**>(argv), const_cast<char**>(envp));
    _exit(127);
  }
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    return err(std::string(mkfs) + " " + disk + " failed (status " + std::to_string(st) + ")");
  return ok();
}

}  // namespace

Result<void> mount_docker_disk(const Console& console, const std::string& disk,
                               const std::string& target) {
  auto deadline = std::chrono::steady_clock::now() + 5s;
  struct stat st;
  while (stat(disk.c_str(), &st) < 0 || !S_ISBLK(st.st_mode)) {
    if (std::chrono::steady_clock::now() >= deadline)
      return err("docker disk " + disk + " did not appear within 5 s");
    std::this_thread::sleep_for(10ms);
  }
  if (auto r = make_dirs(target); !r) return r.error();
  if (mount(disk.c_str(), target.c_str(), "ext4", MS_NOATIME, "") == 0) return ok();
  int mount_errno = errno;
  // Only a blank disk is formatted: anything else may be data we must not
  // destroy (a failed mount for another reason, a disk swapped by mistake).
  int fd = open(disk.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_error("open " + disk);
  std::string head(kBlankCheckBytes, '\1');
  ssize_t n = pread(fd, head.data(), head.size(), 0);
  close(fd);
  if (n != static_cast<ssize_t>(head.size()))
    return err("read " + disk + ": short read");
  if (!all_zero(head))
    return err("mount " + disk + " (ext4): " + strerror(mount_errno) +
               "; the disk is not blank, so it is not formatted");
  console.log("docker disk " + disk + " is blank; formatting it (ext4)");
  if (auto r = run_mkfs(disk); !r) return r.error();
  if (mount(disk.c_str(), target.c_str(), "ext4", MS_NOATIME, "") < 0)
    return errno_error("mount " + disk + " (ext4) after mkfs");
  return ok();
}

}  // namespace sbx::agent
