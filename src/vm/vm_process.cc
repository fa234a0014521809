#include "vm/vm_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <thread>

#include "base/files.h"
#include "base/strings.h"
#include "vm/qemu_command.h"

namespace sbx::vm {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

namespace {

constexpr milliseconds kSocketTimeout{10'000};
// QEMU reports most configuration errors (bad device, KVM MSR failure)
// right after creating its sockets; a short grace period catches them so
// start() can quote the message instead of handing back a dead VM.
constexpr milliseconds kStartupGrace{150};
constexpr size_t kLogTailLines = 20;
// waitid(P_PIDFD, ...) (Linux 5.4). glibc 2.36's idtype_t lacks the name and
// <linux/wait.h> clashes with <sys/wait.h>, so spell the value here.
constexpr int kIdtypePidfd = 3;

std::string dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

std::string base_name(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool is_socket(const std::string& path) {
  struct stat st{};
  return ::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

Result<Fd> open_log(const std::string& path) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC,
               0600));
  if (!fd) return errno_error("open " + path);
  return fd;
}

// Raw syscalls: glibc 2.36's <sys/pidfd.h> lacks C++ linkage guards.
int sys_pidfd_open(pid_t pid) {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0u));
}
int sys_pidfd_send_signal(int pidfd, int sig) {
  return static_cast<int>(
      ::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0u));
}

Result<Fd> open_pidfd(pid_t pid) {
  int fd = sys_pidfd_open(pid);
  if (fd < 0) return errno_error("pidfd_open(" + std::to_string(pid) + ")");
  return Fd(fd);
}

Result<std::vector<std::string>> proc_cmdline(pid_t pid) {
  auto raw = read_file("/proc/" + std::to_string(pid) + "/cmdline");
  if (!raw) return raw.error();
  std::vector<std::string> args = split(*raw, '\0');
  if (!args.empty() && args.back().empty()) args.pop_back();
  return args;
}

}  // namespace

std::string file_tail(const std::string& path, size_t lines) {
  constexpr off_t kMaxRead = 256 * 1024;
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return "";
  struct stat st{};
  if (::fstat(fd.get(), &st) < 0) return "";
  off_t start = st.st_size > kMaxRead ? st.st_size - kMaxRead : 0;
  std::string data;
  data.resize(static_cast<size_t>(st.st_size - start));
  ssize_t n = ::pread(fd.get(), data.data(), data.size(), start);
  if (n <= 0) return "";
  data.resize(static_cast<size_t>(n));
  data.erase(std::remove(data.begin(), data.end(), '\r'), data.end());
  while (!data.empty() && data.back() == '\n') data.pop_back();
  if (lines == 0) return "";
  size_t pos = data.size();
  for (size_t i = 0; i < lines; ++i) {
    auto nl = data.rfind('\n', pos == 0 ? 0 : pos - 1);
    if (nl == std::string::npos || pos == 0) {
      pos = 0;
      break;
    }
    pos = nl;
  }
  if (pos > 0) ++pos;  // skip the newline itself
  return data.substr(pos);
}

Result<bool> VmProcess::wait_proc(Proc& p, milliseconds timeout) {
  if (p.pid <= 0 || p.exited) return true;
  pollfd pfd{p.pidfd.get(), POLLIN, 0};
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    auto left =
        std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    int n = ::poll(&pfd, 1, static_cast<int>(std::max<int64_t>(0, left.count())));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("poll pidfd");
    if (n == 0) return false;
    break;
  }
  // A readable pidfd means the process has exited. If it is our child it
  // is now a zombie: reap it. If not (adopted), waitid fails with ECHILD
  // and its real parent (init) reaps it.
  siginfo_t info{};
  while (::waitid(static_cast<idtype_t>(kIdtypePidfd),
                  static_cast<id_t>(p.pidfd.get()), &info,
                  WEXITED | WNOHANG) < 0 &&
         errno == EINTR) {
  }
  p.exited = true;
  return true;
}

Result<void> VmProcess::kill_proc(Proc& p) {
  if (p.pid <= 0 || p.exited) return ok();
  // pidfd_send_signal cannot hit a recycled pid.
  if (sys_pidfd_send_signal(p.pidfd.get(), SIGKILL) < 0 &&
      errno != ESRCH)
    return errno_error("kill pid " + std::to_string(p.pid));
  auto gone = wait_proc(p, milliseconds(5000));
  if (!gone) return gone.error();
  if (!*gone)
    return err("pid " + std::to_string(p.pid) +
               " did not exit within 5 s of SIGKILL");
  return ok();
}

bool VmProcess::alive() {
  auto r = wait_proc(qemu_, milliseconds(0));
  if (r && *r) (void)wait_proc(virtiofsd_, milliseconds(0));
  return r && !*r;
}

Result<void> VmProcess::kill() {
  auto a = kill_proc(qemu_);
  // virtiofsd exits on its own once QEMU disconnects, but do not rely on it.
  auto b = kill_proc(virtiofsd_);
  if (!a) return a.error().wrap("stop qemu");
  if (!b) return b.error().wrap("stop virtiofsd");
  return ok();
}

Result<bool> VmProcess::wait_exit(milliseconds timeout) {
  auto r = wait_proc(qemu_, timeout);
  if (r && *r) (void)wait_proc(virtiofsd_, milliseconds(0));
  return r;
}

std::string VmProcess::console_tail(size_t lines) const {
  return file_tail(cfg_.console_log, lines);
}

std::string VmProcess::qemu_log_tail(size_t lines) const {
  return file_tail(cfg_.qemu_log(), lines);
}

Result<VmProcess> VmProcess::start(const VmConfig& cfg, Logger& log,
                                   const JailOptions& jail) {
  if (auto v = cfg.validate(); !v) return v.error();
  VmProcess vm(cfg);
  // Any failure below must not leave half a VM running.
  auto fail = [&vm](Error e) -> Result<VmProcess> {
    (void)vm.kill();
    return e;
  };

  if (cfg.workspace && cfg.workspace->fs == Workspace::Fs::kVirtiofs) {
    const Workspace& ws = *cfg.workspace;
    const std::string vlog = dir_of(cfg.console_log) + "/virtiofsd.log";
    auto lfd = open_log(vlog);
    if (!lfd) return lfd.error();
    ::unlink(ws.virtiofsd_socket.c_str());
    JailOptions vj = jail;
    // virtiofsd keeps an O_PATH descriptor per inode the guest looks up and
    // raises its own limit; a small cap would break large workspaces.
    vj.max_open_files = 0;
    // virtiofsd sandboxes itself with namespaces (CAP_SYS_ADMIN) and drops
    // mknod through its own modcaps option (virtiofsd_argv).
    vj.drop_capabilities = false;
    auto pid = spawn_jailed(virtiofsd_argv(cfg, kVirtiofsd), lfd->get(), vj);
    if (!pid) return pid.error().wrap("start virtiofsd");
    vm.virtiofsd_.pid = *pid;
    auto pfd = open_pidfd(*pid);
    if (!pfd) return fail(pfd.error());
    vm.virtiofsd_.pidfd = std::move(*pfd);
    const auto deadline = Clock::now() + kSocketTimeout;
    while (!is_socket(ws.virtiofsd_socket)) {
      auto gone = wait_proc(vm.virtiofsd_, milliseconds(10));
      if (gone && *gone)
        return fail(err("virtiofsd exited during startup: " +
                        file_tail(vlog, kLogTailLines)));
      if (Clock::now() >= deadline)
        return fail(err("virtiofsd did not create " + ws.virtiofsd_socket));
    }
    log.debug("vm: virtiofsd pid " + std::to_string(*pid) + " serving " +
              ws.host_path);
  }

  // A stale socket from an earlier run would satisfy the wait below.
  ::unlink(cfg.qmp_socket.c_str());
  auto qfd = open_log(cfg.qemu_log());
  if (!qfd) return fail(qfd.error());
  auto argv = qemu_argv(cfg);
  log.debug("vm: " + join(argv, " "));
  auto pid = spawn_jailed(argv, qfd->get(), jail);
  if (!pid) return fail(pid.error());
  vm.qemu_.pid = *pid;
  auto pfd = open_pidfd(*pid);
  if (!pfd) return fail(pfd.error());
  vm.qemu_.pidfd = std::move(*pfd);

  auto died = [&]() {
    return err("qemu exited during startup: " +
               file_tail(cfg.qemu_log(), kLogTailLines));
  };
  const auto deadline = Clock::now() + kSocketTimeout;
  while (!is_socket(cfg.qmp_socket)) {
    auto gone = wait_proc(vm.qemu_, milliseconds(10));
    if (gone && *gone) return fail(died());
    if (Clock::now() >= deadline)
      return fail(err("qemu did not create its QMP socket within 10 s: " +
                      file_tail(cfg.qemu_log(), kLogTailLines)));
  }
  auto gone = wait_proc(vm.qemu_, kStartupGrace);
  if (gone && *gone) return fail(died());
  log.info("vm: qemu pid " + std::to_string(*pid) + " started (" +
           std::string(accel_name(cfg.accel)) + ")");
  return vm;
}

Result<VmProcess> VmProcess::adopt(pid_t qemu_pid, pid_t virtiofsd_pid,
                                   const VmConfig& cfg) {
  VmProcess vm(cfg);
  // Pin the process first, then check what it is: a pidfd keeps naming the
  // same process even if the pid is recycled after the check.
  auto qfd = open_pidfd(qemu_pid);
  if (!qfd) return qfd.error().wrap("adopt qemu");
  auto args = proc_cmdline(qemu_pid);
  if (!args) return args.error().wrap("adopt qemu");
  if (args->empty() || !starts_with(base_name((*args)[0]), "qemu-system"))
    return err("adopt: pid " + std::to_string(qemu_pid) +
               " is not a qemu-system process");
  const std::string qmp = "unix:" + qemu_opt_escape(cfg.qmp_socket) + ",";
  bool has_qmp = false;
  for (size_t i = 0; i + 1 < args->size(); ++i)
    if ((*args)[i] == "-qmp" && starts_with((*args)[i + 1], qmp)) has_qmp = true;
  if (!has_qmp)
    return err("adopt: qemu pid " + std::to_string(qemu_pid) +
               " does not serve QMP at " + cfg.qmp_socket);
  vm.qemu_.pid = qemu_pid;
  vm.qemu_.pidfd = std::move(*qfd);

  if (virtiofsd_pid > 0) {
    auto vfd = open_pidfd(virtiofsd_pid);
    if (!vfd) return vfd.error().wrap("adopt virtiofsd");
    auto vargs = proc_cmdline(virtiofsd_pid);
    if (!vargs) return vargs.error().wrap("adopt virtiofsd");
    const std::string want =
        "--socket-path=" +
        (cfg.workspace ? cfg.workspace->virtiofsd_socket : std::string());
    if (vargs->empty() || base_name((*vargs)[0]) != "virtiofsd" ||
        std::find(vargs->begin(), vargs->end(), want) == vargs->end())
      return err("adopt: pid " + std::to_string(virtiofsd_pid) +
                 " is not this sandbox's virtiofsd");
    vm.virtiofsd_.pid = virtiofsd_pid;
    vm.virtiofsd_.pidfd = std::move(*vfd);
  }
  return vm;
}

}  // namespace sbx::vm
