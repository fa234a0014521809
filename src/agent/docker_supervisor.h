// The sandbox's private dockerd: a supervised child of the agent (not a
// channel). Started at boot, or on the first connection to its socket
// (socket activation, handed over as systemd's LISTEN_FDS). Restarted with
// backoff when it dies, given up after a few failures. Readiness is a real
// `GET /_ping` on the socket. Driven by LinkServer's poll loop.
#pragma once

#include <poll.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agent/console.h"
#include "base/fd.h"

namespace sbx::agent {

/// How dockerd is started.
struct DockerOptions {
  std::string dockerd = "/usr/bin/dockerd";
  std::string socket_path = "/var/run/docker.sock";
  std::string log_path = "/var/log/dockerd.log";
  /// true: listen on socket_path ourselves and start dockerd (with
  /// `-H fd://`) when the first client connects. false: start at once.
  bool socket_activation = false;
  /// sbx.proxy value passed as HTTP(S)_PROXY; empty: none.
  std::string proxy;
  /// Socket activation: group owning the socket (mode 0660); nullopt keeps ours.
  std::optional<gid_t> socket_gid;
  /// Restarts after the first start before giving up.
  int max_restarts = 3;
  /// First restart delay; doubled each time.
  std::chrono::milliseconds backoff{1000};
  /// A run at least this long resets the failure count.
  std::chrono::milliseconds stable_after{30000};
};

/// Lifecycle of the daemon as reported by the "docker" control op.
enum class DockerState { kIdle, kStarting, kRunning, kFailed };
/// "idle", "starting", "running", "failed".
const char* docker_state_name(DockerState s);

/// Starts, watches and stops dockerd.
class DockerSupervisor {
 public:
  DockerSupervisor(const Console& console, DockerOptions opts);
  ~DockerSupervisor();
  DockerSupervisor(const DockerSupervisor&) = delete;
  DockerSupervisor& operator=(const DockerSupervisor&) = delete;

  /// Boot mode: spawns dockerd. Socket mode: creates the listening socket.
  void start();
  /// Appends the fds to watch (listening socket, readiness probe).
  void add_poll_fds(std::vector<pollfd>& out);
  /// Handles the results for the `n` fds add_poll_fds appended.
  void on_poll(const pollfd* fds, size_t n);
  /// Milliseconds until tick() has work (restart, next probe); -1: none.
  int timeout_ms() const;
  /// Runs due timers.
  void tick();
  /// Consumes a reaped child if it is dockerd; false for other pids.
  bool on_child_exit(pid_t pid, int wait_status);
  /// The "docker" control op's body: {"state","since_ms","restarts",...}.
  std::string status_json() const;
  DockerState state() const { return state_; }
  /// SIGTERM, wait up to `grace` for dockerd (it stops its containers),
  /// then SIGKILL. No restarts afterwards. Blocks: shutdown path only.
  void stop(std::chrono::milliseconds grace);

 private:
  using Clock = std::chrono::steady_clock;
  void set_state(DockerState s, const std::string& why = {});
  void spawn();
  void listen_socket();
  void start_probe();
  void probe_io(short revents);
  void probe_done(bool ok);

  const Console& console_;
  DockerOptions opts_;
  DockerState state_ = DockerState::kIdle;
  long since_ms_ = 0;
  std::string last_error_;

  pid_t pid_ = -1;
  Clock::time_point started_at_;
  int failures_ = 0;
  int restarts_ = 0;
  std::optional<Clock::time_point> restart_at_;
  bool stopping_ = false;

  Fd listen_;          ///< socket mode: our listening socket (kept for restarts)
  bool activated_ = false;

  Fd probe_;           ///< in-flight GET /_ping
  std::string probe_buf_;
  Clock::time_point probe_deadline_;
  std::optional<Clock::time_point> next_probe_;
};

}  // namespace sbx::agent
