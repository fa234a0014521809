#include "harness/harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <regex>

#include "base/child_process.h"
#include "base/fd.h"
#include "base/strings.h"
#include "support/loopback_server.h"

namespace sbx::testing {

namespace {
TempDir must_tempdir() {
  auto t = TempDir::create("sbx-e2e");
  if (!t) abort();
  return std::move(*t);
}
}  // namespace

namespace {
// Milliseconds left until `deadline` (0 once it passed), for poll().
int ms_left(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}
}  // namespace

CmdResult run(const std::vector<std::string>& argv, const std::string& input,
              std::chrono::milliseconds timeout) {
  ::signal(SIGPIPE, SIG_IGN);  // a child may exit before reading its input
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  CmdResult r;
  auto in = make_pipe();
  auto out = make_pipe();
  auto errp = make_pipe();
  if (!in || !out || !errp) return r;
  SpawnOptions o;
  o.argv = argv;
  o.stdin_fd = in->first.get();
  o.stdout_fd = out->second.get();
  o.stderr_fd = errp->second.get();
  auto c = ChildProcess::spawn(o);
  if (!c) {
    r.err = c.error().message;
    return r;
  }
  in->first.reset();
  out->second.reset();
  errp->second.reset();
  (void)write_all(in->second.get(), input);
  in->second.reset();
  pollfd p[2] = {{out->first.get(), POLLIN, 0}, {errp->first.get(), POLLIN, 0}};
  int open = 2;
  bool timed_out = false;
  char buf[65536];
  while (open > 0) {
    int n_ready = ::poll(p, 2, ms_left(deadline));
    if (n_ready < 0 && errno == EINTR) continue;
    if (n_ready < 0) break;
    if (n_ready == 0) {
      timed_out = true;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = ::read(p[i].fd, buf, sizeof buf);
      if (n <= 0) {
        p[i].fd = -1;
        --open;
        continue;
      }
      (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(n));
    }
  }
  // Output closed early (or never): the exit itself gets what time is left.
  auto st = timed_out ? c->wait_for(std::chrono::milliseconds(0))
                      : c->wait_for(std::chrono::milliseconds(ms_left(deadline)));
  if (st && st->has_value()) {
    r.code = (*st)->shell_code();
    return r;
  }
  (void)c->kill(SIGKILL);
  (void)c->wait();
  r.code = -1;
  r.err += "\n[harness] killed after " + std::to_string(timeout.count()) +
           " ms: " + (argv.empty() ? std::string() : argv[0]) + " did not finish\n";
  return r;
}

std::string sbx_cli_path() {
  const char* env = std::getenv("SBX_TEST_CLI");
  return env && *env ? env : SBX_CLI_PATH;
}

CmdResult sbx(const std::vector<std::string>& args, const std::string& input) {
  std::vector<std::string> argv = {sbx_cli_path()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, input);
}

SbxEnv::SbxEnv() : dir_(must_tempdir()) {
  // Tests write to sockets and pipes whose readers may already be gone.
  ::signal(SIGPIPE, SIG_IGN);
  setenv("SBX_STATE_DIR", state_dir().c_str(), 1);
  setenv("SBX_RUNTIME_DIR", runtime_dir().c_str(), 1);
  setenv("NO_COLOR", "1", 1);
  // Tests may run before the user ever did: the cache is shared so that a
  // template is built once per machine, keyed by its inputs.
}

SbxEnv::~SbxEnv() {
  (void)sbx({"rm", "-f", "--all"});
  (void)sbx({"daemon", "stop"});
  for (int pid : qemu_pids_matching(root())) ::kill(pid, SIGKILL);
}

std::string SbxEnv::make_workspace(const std::string& name) {
  std::string p = root() + "/" + name;
  (void)make_dirs(p);
  return p;
}

Result<std::string> http_get(uint16_t port, const std::string& path,
                             std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto fd = connect_loopback(port);
  if (!fd) return fd.error();
  auto w = write_all(fd->get(), "GET " + path + " HTTP/1.0\r\nHost: localhost\r\n\r\n");
  if (!w) return w.error();
  std::string resp;
  for (;;) {
    // The whole response within the deadline, not each read: a server
    // that trickles bytes must not stretch the test forever.
    pollfd p{fd->get(), POLLIN, 0};
    int ready = ::poll(&p, 1, ms_left(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0)
      return err("no complete HTTP response within " + std::to_string(timeout.count()) + " ms (" +
                 std::to_string(resp.size()) + " bytes)");
    if (ready < 0) return errno_error("poll");
    auto r = read_some(fd->get(), 1 << 20);
    if (!r) return r.error().wrap("read response");
    if (r->empty()) break;
    resp += *r;
  }
  auto end = resp.find("\r\n\r\n");
  if (end == std::string::npos)
    return err("no HTTP response (" + std::to_string(resp.size()) + " bytes)");
  std::string head = resp.substr(0, end);
  if (head.find(" 200 ") == std::string::npos)
    return err("HTTP status: " + head.substr(0, head.find('\r')));
  return resp.substr(end + 4);
}

bool connect_refused(uint16_t port) {
  auto fd = connect_loopback(port);
  return !fd && fd.error().message.find("refused") != std::string::npos;
}

uint16_t published_port(const std::string& output) {
  std::smatch m;
  std::regex re("Published [0-9.]+:([0-9]+) -> [0-9]+/tcp");
  if (std::regex_search(output, m, re)) return static_cast<uint16_t>(std::stoi(m[1]));
  return 0;
}

std::vector<int> host_pids_matching(const std::string& needle) {
  std::vector<int> out;
  auto entries = list_dir("/proc");
  if (!entries) return out;
  for (auto& e : *entries) {
    if (e.find_first_not_of("0123456789") != std::string::npos) continue;
    auto cmd = read_file("/proc/" + e + "/cmdline");
    if (!cmd) continue;
    for (auto& c : *cmd)
      if (c == '\0') c = ' ';
    if (cmd->find(needle) != std::string::npos && std::stoi(e) != getpid())
      out.push_back(std::stoi(e));
  }
  return out;
}

std::vector<int> qemu_pids_matching(const std::string& needle) {
  std::vector<int> out;
  for (int pid : host_pids_matching(needle)) {
    auto cmd = read_file("/proc/" + std::to_string(pid) + "/cmdline");
    if (cmd && cmd->find("qemu-system") != std::string::npos) out.push_back(pid);
  }
  return out;
}

}  // namespace sbx::testing
