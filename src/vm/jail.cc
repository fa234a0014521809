#include "vm/jail.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "base/fd.h"

namespace sbx::vm {

namespace {
// Steps reported back by a failing child, so the error names the step.
enum Step : int {
  kStepSetsid = 1,
  kStepUnshare,
  kStepUnshareNet,
  kStepMountPrivate,
  kStepNoNewPrivs,
  kStepRlimitCore,
  kStepRlimitNofile,
  kStepStdio,
  kStepCloseRange,
  kStepExec,
};

const char* step_name(int s) {
  switch (s) {
    case kStepSetsid: return "setsid";
    case kStepUnshare: return "unshare(CLONE_NEWNS)";
    case kStepUnshareNet: return "unshare(CLONE_NEWNET)";
    case kStepMountPrivate: return "make mounts private";
    case kStepNoNewPrivs: return "prctl(PR_SET_NO_NEW_PRIVS)";
    case kStepRlimitCore: return "setrlimit(RLIMIT_CORE)";
    case kStepRlimitNofile: return "setrlimit(RLIMIT_NOFILE)";
    case kStepStdio: return "redirect stdio";
    case kStepCloseRange: return "close inherited descriptors";
    case kStepExec: return "exec";
  }
  return "setup";
}
}  // namespace

Result<pid_t> spawn_jailed(const std::vector<std::string>& argv, int log_fd,
                           const JailOptions& opts) {
  if (argv.empty()) return err("spawn_jailed: empty argv");
  // Everything the child touches is prepared before fork: after fork in a
  // threaded daemon only async-signal-safe calls are allowed.
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  Fd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!devnull) return errno_error("open /dev/null");
  auto p = make_pipe();
  if (!p) return p.error();
  auto& [rd, wr] = *p;
  const int report_fd = wr.get();
  const int null_fd = devnull.get();

  pid_t pid = ::fork();
  if (pid < 0) return errno_error("fork");
  if (pid == 0) {
    int step = 0;
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    if (opts.new_session && setsid() < 0) { step = kStepSetsid; goto fail; }
    if (opts.private_network_namespace && unshare(CLONE_NEWNET) < 0) {
      step = kStepUnshareNet;
      goto fail;
    }
    if (opts.private_mount_namespace) {
      if (unshare(CLONE_NEWNS) < 0) { step = kStepUnshare; goto fail; }
      if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) {
        step = kStepMountPrivate;
        goto fail;
      }
    }
    if (opts.drop_capabilities && geteuid() == 0) {
      // Bounding-set drops take effect at exec. CAP_SETPCAP (8) goes last:
      // it is what allows the others to be dropped.
      static const int kDrop[] = {
          27 /*MKNOD*/,     21 /*SYS_ADMIN*/, 16 /*SYS_MODULE*/, 17 /*SYS_RAWIO*/,
          19 /*SYS_PTRACE*/, 22 /*SYS_BOOT*/, 12 /*NET_ADMIN*/,  13 /*NET_RAW*/,
          25 /*SYS_TIME*/,  9 /*LINUX_IMMUTABLE*/, 18 /*SYS_CHROOT*/, 28 /*LEASE*/,
          29 /*AUDIT_WRITE*/, 30 /*AUDIT_CONTROL*/, 33 /*MAC_ADMIN*/, 32 /*MAC_OVERRIDE*/,
          34 /*SYSLOG*/,    38 /*PERFMON*/,   39 /*BPF*/,        40 /*CHECKPOINT_RESTORE*/,
          8 /*SETPCAP*/};
      for (int cap : kDrop) {
        // Older kernels lack the newest capabilities: EINVAL is fine.
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) {
          step = kStepNoNewPrivs;
          goto fail;
        }
      }
    }
    if (opts.no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
      step = kStepNoNewPrivs;
      goto fail;
    }
    if (opts.no_core_dumps) {
      rlimit rl{0, 0};
      if (setrlimit(RLIMIT_CORE, &rl) < 0) { step = kStepRlimitCore; goto fail; }
    }
    if (opts.max_open_files > 0) {
      rlimit rl{opts.max_open_files, opts.max_open_files};
      if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
        step = kStepRlimitNofile;
        goto fail;
      }
    }
    if (dup2(null_fd, 0) < 0 || dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0) {
      step = kStepStdio;
      goto fail;
    }
    // Close everything else except the report pipe (CLOEXEC: closed by a
    // successful exec), so no daemon socket or database leaks into QEMU.
    if (report_fd > 3 &&
        syscall(SYS_close_range, 3u, static_cast<unsigned>(report_fd - 1), 0u) <
            0) {
      step = kStepCloseRange;
      goto fail;
    }
    if (syscall(SYS_close_range, static_cast<unsigned>(report_fd + 1), ~0u,
                0u) < 0) {
      step = kStepCloseRange;
      goto fail;
    }
    execvp(cargv[0], cargv.data());
    step = kStepExec;
  fail:
    int msg[2] = {step, errno};
    (void)!::write(report_fd, msg, sizeof msg);
    _exit(127);
  }
  wr.reset();
  int msg[2] = {0, 0};
  ssize_t n;
  do {
    n = ::read(rd.get(), msg, sizeof msg);
  } while (n < 0 && errno == EINTR);
  if (n == sizeof msg) {
    int st;
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    return errno_error(std::string("start '") + argv[0] + "': " +
                           step_name(msg[0]),
                       msg[1]);
  }
  return pid;
}

}  // namespace sbx::vm
