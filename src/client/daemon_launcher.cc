#include "client/daemon_launcher.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <thread>

#include "base/child_process.h"
#include "base/fd.h"
#include "base/files.h"

namespace sbx::client {

Result<std::string> daemon_binary() {
  if (const char* env = std::getenv("SBX_DAEMON"); env && *env) return std::string(env);
  auto dir = self_exe_dir();
  if (!dir) return dir.error();
  // Installed side by side (the build tree's bin/ too); else PATH.
  if (std::string c = *dir + "/sandboxd"; path_exists(c)) return c;
  if (auto p = find_program("sandboxd"); !p.empty()) return p;
  return *dir + "/sandboxd";
}

Result<bool> ensure_daemon(ApiClient& client, const Paths& paths,
                           const LaunchOptions& opts) {
  using clock = std::chrono::steady_clock;
  auto probe = std::chrono::seconds(5);
  auto v = client.version(probe);
  if (v) return false;
  if (!daemon_absent(v.error()))
    return v.error().message.empty() ? err("sandboxd is not answering") : v.error();

  std::string bin = opts.daemon_path;
  if (bin.empty()) {
    auto b = daemon_binary();
    if (!b) return b.error();
    bin = *b;
  }
  if (!path_exists(bin))
    return err("sandboxd is not running and cannot be started: " + bin +
               " does not exist (set SBX_DAEMON to the sandboxd binary)");
  if (auto r = paths.ensure(); !r) return r.error().wrap("preparing sbx directories");

  // The daemon logs to its own file; detaching it from our terminal keeps a
  // closed terminal or a Ctrl-C in `sbx` from taking it down.
  Fd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!devnull) return errno_error("open /dev/null");
  SpawnOptions so;
  so.argv = {bin};
  so.stdin_fd = so.stdout_fd = so.stderr_fd = devnull.get();
  so.new_session = true;
  // Run from / so the daemon does not pin the user's directory, and pass the
  // directories as we resolved them so both sides agree on the socket even
  // if the user gave relative SBX_*_DIR values.
  so.cwd = "/";
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string_view kv(*e);
    bool ours = false;
    for (auto* k : {"SBX_RUNTIME_DIR=", "SBX_STATE_DIR=", "SBX_CACHE_DIR=", "SBX_CONFIG_DIR="})
      if (kv.substr(0, std::strlen(k)) == k) ours = true;
    if (!ours) env.emplace_back(kv);
  }
  env.push_back("SBX_RUNTIME_DIR=" + paths.runtime);
  env.push_back("SBX_STATE_DIR=" + paths.state);
  env.push_back("SBX_CACHE_DIR=" + paths.cache);
  env.push_back("SBX_CONFIG_DIR=" + paths.config);
  so.env = std::move(env);
  auto child = ChildProcess::spawn(so);
  if (!child) return child.error().wrap("starting " + bin);

  auto deadline = clock::now() + opts.ready_timeout;
  std::optional<ExitStatus> exited;
  clock::time_point exited_at;
  for (;;) {
    if (client.version(std::chrono::seconds(2))) {
      if (!exited) child->detach();
      return true;
    }
    if (!exited) {
      auto st = child->poll();
      if (st && *st) {
        exited = **st;
        exited_at = clock::now();
      }
    }
    auto now = clock::now();
    if (exited && now - exited_at > opts.exit_grace)
      return err("sandboxd exited (" + exited->describe() +
                 ") before answering; see its log: " + paths.daemon_log());
    if (now > deadline) {
      // Still starting, perhaps just slow: leave it running.
      if (!exited) child->detach();
      return err("sandboxd did not answer within " +
                 std::to_string(opts.ready_timeout.count() / 1000) +
                 " s; see its log: " + paths.daemon_log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

bool wait_daemon_exited(const Paths& paths, std::chrono::milliseconds timeout) {
  using clock = std::chrono::steady_clock;
  auto deadline = clock::now() + timeout;
  for (;;) {
    Fd lock(::open(paths.lock_file().c_str(), O_RDWR | O_CLOEXEC));
    // No lock file: no daemon ever ran here, or it cleaned up.
    if (!lock) return true;
    // Taking the lock proves the holder is gone; release it at once.
    if (::flock(lock.get(), LOCK_EX | LOCK_NB) == 0) return true;
    if (clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace sbx::client
