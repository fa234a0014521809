#include "agent/exec_spawner.h"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <linux/close_range.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "agent/user_db.h"
#include "base/strings.h"

namespace sbx::agent {

namespace {

constexpr const char* kDefaultPath =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// What the child reports through the CLOEXEC pipe when it cannot exec.
enum Stage : int { kStageSetup = 1, kStageUser, kStageCwd, kStageExec };
struct ChildError {
  int stage;
  int err;
};

proto::OpenFailure failure(int code, std::string msg) {
  return proto::OpenFailure{std::move(msg), code};
}

std::string current_hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) < 0) return "";
  return buf;
}

// Replaces or appends KEY=VALUE in an environment list.
void set_env(std::vector<std::string>& env, const std::string& entry) {
  auto key = entry.substr(0, entry.find('=') + 1);
  for (auto& e : env)
    if (starts_with(e, key)) {
      e = entry;
      return;
    }
  env.push_back(entry);
}

std::string env_value(const std::vector<std::string>& env, const std::string& key) {
  for (auto& e : env)
    if (starts_with(e, key + "=")) return e.substr(key.size() + 1);
  return "";
}

Result<std::pair<Fd, Fd>> pipe_pair() {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return errno_error("pipe2");
  return std::pair<Fd, Fd>{Fd(p[0]), Fd(p[1])};
}

}  // namespace

std::variant<SpawnedExec, proto::OpenFailure> ExecSpawner::spawn(
    const proto::ExecRequest& req) const {
  if (req.argv.empty() || req.argv[0].empty()) return failure(125, "empty command");
  const std::string& prog = req.argv[0];

  // --- Who runs it. Empty user means root; when the agent itself is not
  // root (test mode), empty means "as the agent".
  uid_t self = geteuid();
  UserDb db = UserDb::load(cfg_.passwd_path, cfg_.group_path);
  PasswdEntry user;
  if (req.user.empty() && self != 0) {
    auto u = db.find_uid(self);
    user = u ? *u : PasswdEntry{"", self, getegid(), "", "/", "/bin/sh"};
  } else {
    std::string want = req.user.empty() ? "root" : req.user;
    auto u = db.find_user(want);
    if (!u) {
      if (want == "root")
        u = PasswdEntry{"root", 0, 0, "", "/root", "/bin/sh"};
      else
        return failure(125, "unknown user '" + want + "' (not in " + cfg_.passwd_path + ")");
    }
    user = *u;
  }
  bool switch_user = self == 0 && user.uid != 0;
  bool root_target = self == 0 && user.uid == 0;
  if (self != 0 && user.uid != self)
    return failure(125, "cannot run as user '" + req.user +
                            "': the agent is not running as root");
  std::vector<gid_t> groups;
  if (self == 0)
    for (auto g : db.groups_of(user)) groups.push_back(g);
  if (user.shell.empty()) user.shell = "/bin/sh";
  if (user.home.empty()) user.home = "/";

  // --- Login environment, then the request's overrides.
  std::vector<std::string> env = {
      "HOME=" + user.home, "USER=" + user.name, "LOGNAME=" + user.name,
      "SHELL=" + user.shell, std::string("PATH=") + kDefaultPath, "LANG=C.UTF-8",
      "HOSTNAME=" + current_hostname()};
  if (req.tty) env.push_back("TERM=xterm-256color");
  for (auto& e : cfg_.login_env) set_env(env, e);
  for (auto& e : req.env) set_env(env, e);

  // --- Candidate program paths, resolved with the *new* PATH (execvp would
  // use ours). Built before fork so the child only makes system calls.
  std::vector<std::string> candidates;
  if (prog.find('/') != std::string::npos) {
    candidates.push_back(prog);
  } else {
    std::string path = env_value(env, "PATH");
    for (auto& dir : split(path, ':'))
      candidates.push_back((dir.empty() ? std::string(".") : dir) + "/" + prog);
  }
  if (candidates.empty()) return failure(127, "'" + prog + "': command not found (empty PATH)");

  std::string cwd = req.cwd.empty() ? user.home : req.cwd;
  bool cwd_fallback = req.cwd.empty();  // a missing home is not fatal: use /

  // --- Streams.
  SpawnedExec out;
  Fd child_in, child_out, child_err, slave;
  if (req.detach) {
    int dn = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (dn < 0) return failure(125, std::string("open /dev/null: ") + strerror(errno));
    child_in = Fd(dn);
  } else if (req.tty) {
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0) return failure(125, std::string("cannot allocate a pty: ") + strerror(errno));
    out.pty = Fd(m);
    char name[128];
    if (grantpt(m) < 0 || unlockpt(m) < 0 || ptsname_r(m, name, sizeof name) != 0)
      return failure(125, std::string("cannot set up the pty: ") + strerror(errno));
    int s = ::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (s < 0) return failure(125, std::string("open ") + name + ": " + strerror(errno));
    slave = Fd(s);
    if (req.rows > 0 && req.cols > 0) {
      winsize ws{};
      ws.ws_row = req.rows;
      ws.ws_col = req.cols;
      (void)ioctl(s, TIOCSWINSZ, &ws);
    }
    if (root_target || switch_user) (void)fchown(s, user.uid, 5 /* tty */);
  } else {
    auto pi = pipe_pair(), po = pipe_pair(), pe = pipe_pair();
    if (!pi || !po || !pe) return failure(125, "cannot create pipes: " + (!pi ? pi.error() : !po ? po.error() : pe.error()).message);
    child_in = std::move(pi->first);
    out.stdin_fd = std::move(pi->second);
    out.stdout_fd = std::move(po->first);
    child_out = std::move(po->second);
    out.stderr_fd = std::move(pe->first);
    child_err = std::move(pe->second);
  }

  auto errp = pipe_pair();
  if (!errp) return failure(125, errp.error().message);

  std::vector<char*> argv, envp;
  for (auto& a : req.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  int fds[3];
  if (req.detach) {
    fds[0] = fds[1] = fds[2] = child_in.get();
  } else if (req.tty) {
    fds[0] = fds[1] = fds[2] = slave.get();
  } else {
    fds[0] = child_in.get();
    fds[1] = child_out.get();
    fds[2] = child_err.get();
  }
  int report = errp->second.get();

  pid_t pid = fork();
  if (pid < 0) return failure(125, std::string("fork: ") + strerror(errno));
  if (pid == 0) {
    // Child. The agent is single-threaded, but stay with plain system calls.
    auto fail = [&](int stage) {
      ChildError ce{stage, errno};
      (void)!::write(report, &ce, sizeof ce);
      _exit(127);
    };
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    // Dispositions set to SIG_IGN survive exec (the agent ignores SIGPIPE;
    // a test runner may have ignored SIGINT): give the command defaults.
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; ++s) (void)sigaction(s, &dfl, nullptr);
    if (setsid() < 0) fail(kStageSetup);
    if (req.tty && ioctl(fds[0], TIOCSCTTY, 0) < 0) fail(kStageSetup);
    for (int i = 0; i < 3; ++i) {
      if (fds[i] == i) {
        fcntl(i, F_SETFD, 0);
      } else if (dup2(fds[i], i) < 0) {
        fail(kStageSetup);
      }
    }
    // Whatever the agent inherited (test runners leak fds) must not reach
    // the command: mark every fd above stdio close-on-exec. The error pipe
    // is already CLOEXEC and stays usable until exec.
    if (syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC) < 0)
      for (int fd = 3; fd < 4096; ++fd) fcntl(fd, F_SETFD, FD_CLOEXEC);
    if (switch_user) {
      if (setgroups(groups.size(), groups.data()) < 0) fail(kStageUser);
      if (setgid(user.gid) < 0) fail(kStageUser);
      if (setuid(user.uid) < 0) fail(kStageUser);
    } else if (root_target && !groups.empty()) {
      (void)setgroups(groups.size(), groups.data());
    }
    if (chdir(cwd.c_str()) < 0) {
      if (!cwd_fallback || chdir("/") < 0) fail(kStageCwd);
    }
    // execvp semantics: remember EACCES from any candidate, keep looking.
    int best = ENOENT;
    for (auto& c : candidates) {
      execve(c.c_str(), argv.data(), envp.data());
      int e = errno;
      if (e == EACCES) best = EACCES;
      else if (e != ENOENT && e != ENOTDIR && e != ESTALE) {
        best = e;
        break;
      }
    }
    errno = best;
    fail(kStageExec);
  }

  // Parent: close the child's ends so EOF/EIO arrive when it is done.
  errp->second.reset();
  child_in.reset();
  child_out.reset();
  child_err.reset();
  slave.reset();
  ChildError ce{};
  ssize_t n;
  do {
    n = ::read(errp->first.get(), &ce, sizeof ce);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof ce)) {
    // The child has _exit()ed; reaping is left to the SIGCHLD loop, which
    // reaps every pid including this one.
    std::string why = strerror(ce.err);
    switch (ce.stage) {
      case kStageUser:
        return failure(125, "cannot switch to user '" + user.name + "': " + why);
      case kStageCwd:
        return failure(126, "cannot enter working directory '" + cwd + "': " + why);
      case kStageExec:
        if (ce.err == ENOENT)
          return failure(127, "'" + prog + "': " +
                                  (prog.find('/') == std::string::npos
                                       ? "command not found in PATH"
                                       : "no such file or directory"));
        if (ce.err == EACCES || ce.err == ENOEXEC || ce.err == EPERM || ce.err == EISDIR)
          return failure(126, "'" + prog + "': cannot execute: " + why);
        return failure(125, "'" + prog + "': exec failed: " + why);
      default:
        return failure(125, "cannot set up the process for '" + prog + "': " + why);
    }
  }
  out.pid = pid;
  for (Fd* f : {&out.stdin_fd, &out.stdout_fd, &out.stderr_fd, &out.pty})
    if (f->valid()) (void)set_nonblocking(f->get(), true);
  return out;
}

}  // namespace sbx::agent
