#include "agent/docker_supervisor.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>

namespace sbx::agent {

namespace {

using namespace std::chrono_literals;

constexpr auto kProbeInterval = 100ms;
/// A probe that got no answer by then is retried (dockerd may still be
/// initialising with our connection in its backlog).
constexpr auto kProbeTimeout = 5s;
constexpr size_t kProbeMaxReply = 4096;

std::optional<sockaddr_un> unix_addr(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (path.size() >= sizeof a.sun_path) return std::nullopt;
  memcpy(a.sun_path, path.c_str(), path.size() + 1);
  return a;
}

}  // namespace

const char* docker_state_name(DockerState s) {
  switch (s) {
    case DockerState::kIdle: return "idle";
    case DockerState::kStarting: return "starting";
    case DockerState::kRunning: return "running";
    case DockerState::kFailed: return "failed";
  }
  return "failed";
}

DockerSupervisor::DockerSupervisor(const Console& console, DockerOptions opts)
    : console_(console), opts_(std::move(opts)) {}

DockerSupervisor::~DockerSupervisor() {
  // Only reached in test mode or after stop(); never leave dockerd behind.
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

void DockerSupervisor::set_state(DockerState s, const std::string& why) {
  if (s == state_ && why.empty()) return;
  state_ = s;
  since_ms_ = console_.elapsed_ms();
  console_.log(std::string("docker: ") + docker_state_name(s) + (why.empty() ? "" : " (" + why + ")"));
}

void DockerSupervisor::start() {
  if (opts_.socket_activation) {
    listen_socket();
    return;
  }
  spawn();
}

void DockerSupervisor::listen_socket() {
  auto addr = unix_addr(opts_.socket_path);
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (!addr || s < 0) {
    last_error_ = "socket " + opts_.socket_path + ": " + strerror(errno);
    set_state(DockerState::kFailed, last_error_);
    if (s >= 0) close(s);
    return;
  }
  Fd fd(s);
  unlink(opts_.socket_path.c_str());
  if (bind(s, reinterpret_cast<sockaddr*>(&*addr), sizeof *addr) < 0 || listen(s, 128) < 0) {
    last_error_ = "listen " + opts_.socket_path + ": " + strerror(errno);
    set_state(DockerState::kFailed, last_error_);
    return;
  }
  // What `dockerd --group docker` would do: users in group docker may talk
  // to the daemon without sudo.
  if (opts_.socket_gid) (void)chown(opts_.socket_path.c_str(), 0, *opts_.socket_gid);
  (void)chmod(opts_.socket_path.c_str(), 0660);
  listen_ = std::move(fd);
  set_state(DockerState::kIdle, "socket activation on " + opts_.socket_path);
}

void DockerSupervisor::spawn() {
  std::vector<std::string> args = {opts_.dockerd};
  bool fd_mode = listen_.valid();
  args.push_back(fd_mode ? "--host=fd://" : "--host=unix://" + opts_.socket_path);
  // The socket's group (fd mode: already set by us; dockerd ignores it).
  args.insert(args.end(), {"--group", "docker", "--shutdown-timeout", "3"});
  std::vector<std::string> env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                  "HOME=/root"};
  if (!opts_.proxy.empty()) {
    for (const char* k : {"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"})
      env.push_back(std::string(k) + "=" + opts_.proxy);
    env.push_back("NO_PROXY=localhost,127.0.0.1,::1");
    env.push_back("no_proxy=localhost,127.0.0.1,::1");
  }
  int logfd = open(opts_.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  int listen_fd = listen_.get();
  // Built before fork: the child only calls async-signal-safe functions
  // (plus one snprintf for LISTEN_PID, which only it knows).
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::string listen_fds = "LISTEN_FDS=1", listen_pid(32, '\0');
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  if (fd_mode) {
    envp.push_back(listen_fds.data());
    envp.push_back(listen_pid.data());
  }
  envp.push_back(nullptr);

  pid_t pid = fork();
  if (pid < 0) {
    last_error_ = std::string("fork: ") + strerror(errno);
    if (logfd >= 0) close(logfd);
    set_state(DockerState::kFailed, last_error_);
    return;
  }
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int s = 1; s < NSIG; ++s) signal(s, SIG_DFL);
    setsid();
    int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0) dup2(devnull, 0);
    if (logfd >= 0) {
      dup2(logfd, 1);
      dup2(logfd, 2);
    }
    if (fd_mode) {
      // systemd's protocol: the first passed socket is fd 3, and
      // LISTEN_PID must be the process that consumes it.
      if (listen_fd == 3) {
        fcntl(3, F_SETFD, 0);
      } else {
        dup2(listen_fd, 3);
      }
      int fl = fcntl(3, F_GETFL);
      if (fl >= 0) fcntl(3, F_SETFL, fl & ~O_NONBLOCK);
      snprintf(listen_pid.data(), listen_pid.size(), "LISTEN_PID=%d", static_cast<int>(getpid()));
    }
    // Nothing else of the agent's leaks into dockerd.
    syscall(SYS_close_range, fd_mode ? 4u : 3u, ~0u, 4u /*CLOSE_RANGE_CLOEXEC*/);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  if (logfd >= 0) close(logfd);
  pid_ = pid;
  started_at_ = Clock::now();
  restart_at_.reset();
  console_.log("docker: started " + opts_.dockerd + " (pid " + std::to_string(pid) +
               (fd_mode ? ", socket-activated" : "") + ")");
  set_state(DockerState::kStarting);
  next_probe_ = Clock::now() + kProbeInterval;
}

void DockerSupervisor::add_poll_fds(std::vector<pollfd>& out) {
  if (listen_.valid() && !activated_ && state_ == DockerState::kIdle)
    out.push_back({listen_.get(), POLLIN, 0});
  if (probe_.valid()) out.push_back({probe_.get(), POLLIN, 0});
}

void DockerSupervisor::on_poll(const pollfd* fds, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (!fds[i].revents) continue;
    if (fds[i].fd == listen_.get() && listen_.valid() && !activated_) {
      // A client is waiting in the backlog: dockerd will accept it.
      activated_ = true;
      console_.log("docker: first connection; starting dockerd");
      spawn();
    } else if (fds[i].fd == probe_.get() && probe_.valid()) {
      probe_io(fds[i].revents);
    }
  }
}

int DockerSupervisor::timeout_ms() const {
  auto now = Clock::now();
  std::optional<Clock::time_point> next;
  auto consider = [&](std::optional<Clock::time_point> t) {
    if (t && (!next || *t < *next)) next = t;
  };
  consider(restart_at_);
  if (!probe_.valid()) consider(next_probe_);
  else consider(probe_deadline_);
  if (!next) return -1;
  if (*next <= now) return 0;
  return static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(*next - now).count()) + 1;
}

void DockerSupervisor::tick() {
  auto now = Clock::now();
  if (restart_at_ && now >= *restart_at_ && !stopping_) {
    restart_at_.reset();
    ++restarts_;
    spawn();
  }
  if (probe_.valid() && now >= probe_deadline_) probe_done(false);
  if (!probe_.valid() && next_probe_ && now >= *next_probe_ && pid_ > 0 &&
      state_ == DockerState::kStarting)
    start_probe();
}

void DockerSupervisor::start_probe() {
  next_probe_.reset();
  auto addr = unix_addr(opts_.socket_path);
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (!addr || s < 0) {
    if (s >= 0) close(s);
    next_probe_ = Clock::now() + kProbeInterval;
    return;
  }
  Fd fd(s);
  if (connect(s, reinterpret_cast<sockaddr*>(&*addr), sizeof *addr) < 0) {
    // ENOENT/ECONNREFUSED: dockerd has not created its socket yet.
    next_probe_ = Clock::now() + kProbeInterval;
    return;
  }
  static constexpr std::string_view kReq =
      "GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n";
  if (::send(s, kReq.data(), kReq.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(kReq.size())) {
    next_probe_ = Clock::now() + kProbeInterval;
    return;
  }
  probe_ = std::move(fd);
  probe_buf_.clear();
  probe_deadline_ = Clock::now() + kProbeTimeout;
}

void DockerSupervisor::probe_io(short revents) {
  char buf[1024];
  ssize_t n = recv(probe_.get(), buf, sizeof buf, 0);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n > 0) probe_buf_.append(buf, static_cast<size_t>(n));
  bool complete = n <= 0 || probe_buf_.size() >= kProbeMaxReply ||
                  probe_buf_.find("\r\n\r\n") != std::string::npos;
  if (!complete) return;
  bool ok = probe_buf_.rfind("HTTP/1.", 0) == 0 && probe_buf_.size() > 12 &&
            probe_buf_.compare(9, 3, "200") == 0;
  probe_done(ok);
}

void DockerSupervisor::probe_done(bool ok) {
  probe_.reset();
  probe_buf_.clear();
  if (ok && state_ == DockerState::kStarting && pid_ > 0) {
    set_state(DockerState::kRunning, "answers /_ping, " +
                                         std::to_string(console_.elapsed_ms()) +
                                         " ms after agent start");
    return;
  }
  if (state_ == DockerState::kStarting) next_probe_ = Clock::now() + kProbeInterval;
}

bool DockerSupervisor::on_child_exit(pid_t pid, int st) {
  if (pid != pid_ || pid_ <= 0) return false;
  pid_ = -1;
  probe_.reset();
  next_probe_.reset();
  std::string how = WIFEXITED(st) ? "exit code " + std::to_string(WEXITSTATUS(st))
                  : WIFSIGNALED(st) ? "signal " + std::to_string(WTERMSIG(st))
                                    : "status " + std::to_string(st);
  last_error_ = "dockerd exited (" + how + "); see " + opts_.log_path;
  if (stopping_) return true;
  if (Clock::now() - started_at_ >= opts_.stable_after) failures_ = 0;
  ++failures_;
  if (failures_ > opts_.max_restarts) {
    set_state(DockerState::kFailed, last_error_ + "; giving up after " +
                                        std::to_string(restarts_) + " restart(s)");
    return true;
  }
  auto delay = opts_.backoff * (1 << (failures_ - 1));
  restart_at_ = Clock::now() + delay;
  set_state(DockerState::kStarting, last_error_ + "; restarting in " +
                                        std::to_string(delay.count()) + " ms");
  return true;
}

std::string DockerSupervisor::status_json() const {
  nlohmann::json j = {{"state", docker_state_name(state_)},
                      {"since_ms", since_ms_},
                      {"uptime_ms", console_.elapsed_ms()},
                      {"restarts", restarts_},
                      {"mode", opts_.socket_activation ? "socket" : "boot"}};
  if (state_ == DockerState::kFailed || restart_at_) j["error"] = last_error_;
  return j.dump();
}

void DockerSupervisor::stop(std::chrono::milliseconds grace) {
  stopping_ = true;
  restart_at_.reset();
  probe_.reset();
  if (pid_ <= 0) return;
  console_.log("docker: stopping dockerd");
  kill(pid_, SIGTERM);
  auto deadline = Clock::now() + grace;
  for (;;) {
    int st;
    pid_t p = waitpid(pid_, &st, WNOHANG);
    if (p == pid_ || (p < 0 && errno == ECHILD)) {
      pid_ = -1;
      console_.log("docker: dockerd stopped");
      return;
    }
    if (Clock::now() >= deadline) break;
    std::this_thread::sleep_for(20ms);
  }
  console_.log("docker: dockerd did not stop in time; killing it");
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

}  // namespace sbx::agent
