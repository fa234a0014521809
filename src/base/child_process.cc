#include "base/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "base/strings.h"

extern char** environ;

namespace sbx {

std::string ExitStatus::describe() const {
  if (exited) return "exit code " + std::to_string(code);
  return std::string("killed by signal ") + std::to_string(signal) + " (" +
         strsignal(signal) + ")";
}

ChildProcess::ChildProcess(ChildProcess&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)), status_(std::move(o.status_)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& o) noexcept {
  if (this != &o) {
    if (running()) {
      (void)kill(SIGKILL);
      (void)wait();
    }
    pid_ = std::exchange(o.pid_, -1);
    status_ = std::move(o.status_);
  }
  return *this;
}

ChildProcess::~ChildProcess() {
  if (running()) {
    (void)kill(SIGKILL);
    (void)wait();
  }
}

pid_t ChildProcess::detach() { return std::exchange(pid_, -1); }

Result<ChildProcess> ChildProcess::spawn(const SpawnOptions& opts) {
  if (opts.argv.empty()) return err("spawn: empty argv");
  // The child reports an exec failure's errno through a CLOEXEC pipe.
  auto p = make_pipe();
  if (!p) return p.error();
  auto& [rd, wr] = *p;

  std::vector<char*> argv;
  for (auto& a : opts.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  if (opts.env) {
    for (auto& e : *opts.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
  }
  pid_t parent = getpid();

  pid_t pid = ::fork();
  if (pid < 0) return errno_error("fork");
  if (pid == 0) {
    // Child: only async-signal-safe calls from here on.
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, nullptr);
    signal(SIGPIPE, SIG_DFL);
    if (opts.new_session) setsid();
    if (opts.die_with_parent) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);
    }
    int fds[3] = {opts.stdin_fd, opts.stdout_fd, opts.stderr_fd};
    for (int i = 0; i < 3; ++i) {
      if (fds[i] >= 0 && fds[i] != i) {
        if (dup2(fds[i], i) < 0) goto fail;
      } else if (fds[i] == i) {
        int fl = fcntl(i, F_GETFD);
        if (fl >= 0) fcntl(i, F_SETFD, fl & ~FD_CLOEXEC);
      }
    }
    if (!opts.cwd.empty() && chdir(opts.cwd.c_str()) < 0) goto fail;
    if (opts.env)
      execvpe(argv[0], argv.data(), envp.data());
    else
      execvp(argv[0], argv.data());
  fail:
    int e = errno;
    (void)!::write(wr.get(), &e, sizeof e);
    _exit(127);
  }
  wr.reset();
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(rd.get(), &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  ChildProcess cp;
  cp.pid_ = pid;
  if (n == sizeof child_errno) {
    (void)cp.wait();
    return errno_error("cannot run '" + opts.argv[0] + "'", child_errno);
  }
  return cp;
}

namespace {
ExitStatus decode(int st) {
  ExitStatus s;
  if (WIFEXITED(st)) {
    s.exited = true;
    s.code = WEXITSTATUS(st);
  } else if (WIFSIGNALED(st)) {
    s.signal = WTERMSIG(st);
  }
  return s;
}
}  // namespace

Result<ExitStatus> ChildProcess::wait() {
  if (status_) return *status_;
  if (pid_ <= 0) return err("wait: no child");
  int st = 0;
  for (;;) {
    pid_t r = ::waitpid(pid_, &st, 0);
    if (r == pid_) break;
    if (r < 0 && errno == EINTR) continue;
    return errno_error("waitpid");
  }
  status_ = decode(st);
  return *status_;
}

Result<std::optional<ExitStatus>> ChildProcess::poll() {
  if (status_) return std::optional<ExitStatus>(*status_);
  if (pid_ <= 0) return err("poll: no child");
  int st = 0;
  pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r < 0) return errno_error("waitpid");
  if (r == 0) return std::optional<ExitStatus>();
  status_ = decode(st);
  return std::optional<ExitStatus>(*status_);
}

Result<std::optional<ExitStatus>> ChildProcess::wait_for(
    std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto r = poll();
    if (!r || r->has_value()) return r;
    if (std::chrono::steady_clock::now() >= deadline)
      return std::optional<ExitStatus>();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

Result<void> ChildProcess::kill(int sig) {
  if (pid_ <= 0 || status_) return ok();
  if (::kill(pid_, sig) < 0 && errno != ESRCH) return errno_error("kill");
  return ok();
}

Result<CommandOutput> run_command(const std::vector<std::string>& argv,
                                  const std::string& cwd) {
  auto p = make_pipe();
  if (!p) return p.error();
  SpawnOptions o;
  o.argv = argv;
  o.cwd = cwd;
  int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  Fd dn(devnull);
  o.stdin_fd = dn.get();
  o.stdout_fd = p->second.get();
  o.stderr_fd = p->second.get();
  auto child = ChildProcess::spawn(o);
  if (!child) return child.error();
  p->second.reset();
  CommandOutput out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(p->first.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.output.append(buf, static_cast<size_t>(n));
  }
  auto st = child->wait();
  if (!st) return st.error();
  out.status = *st;
  return out;
}

Result<std::string> run_checked(const std::vector<std::string>& argv,
                                const std::string& cwd) {
  auto r = run_command(argv, cwd);
  if (!r) return r.error();
  if (!r->status.exited || r->status.code != 0) {
    std::string tail = r->output.size() > 2000
                           ? r->output.substr(r->output.size() - 2000)
                           : r->output;
    return err(argv[0] + " failed (" + r->status.describe() +
               "): " + trim(tail));
  }
  return std::move(r->output);
}

bool process_exists(pid_t pid) {
  if (pid <= 0) return false;
  return ::kill(pid, 0) == 0 || errno == EPERM;
}

std::string find_program(const std::string& prog) {
  if (prog.find('/') != std::string::npos)
    return ::access(prog.c_str(), X_OK) == 0 ? prog : "";
  const char* path = getenv("PATH");
  std::string p = path ? path : "/usr/local/bin:/usr/bin:/bin";
  p += ":/usr/local/sbin:/usr/sbin:/sbin";
  for (auto& dir : split(p, ':')) {
    if (dir.empty()) continue;
    std::string cand = dir + "/" + prog;
    if (::access(cand.c_str(), X_OK) == 0) return cand;
  }
  return "";
}

}  // namespace sbx
