// sandboxd's HTTP/JSON API on a unix socket (routes in proto/api.h). One
// thread per connection; the peer's uid is checked with SO_PEERCRED before a
// single byte is parsed. Library exceptions stop at this boundary.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "base/fd.h"
#include "base/log.h"
#include "base/result.h"
#include "daemon/egress_service.h"
#include "daemon/policy_service.h"
#include "daemon/sandbox_manager.h"

namespace sbx::daemon {

class ApiServer {
 public:
  /// Listens on `socket_path` (mode 0600). `on_shutdown` runs when a client
  /// asks the daemon to exit.
  static Result<std::unique_ptr<ApiServer>> listen(const std::string& socket_path,
                                                   SandboxManager& manager, PolicyService& policy,
                                                   EgressService& egress, Logger& log,
                                                   std::function<void()> on_shutdown);
  ~ApiServer();
  /// Accepts connections until stop() is called.
  void run();
  /// Makes run() return; safe from any thread.
  void stop();

 private:
  ApiServer(Fd listener, SandboxManager& m, PolicyService& p, EgressService& e, Logger& log,
            std::function<void()> on_shutdown)
      : listener_(std::move(listener)), manager_(m), policy_(p), egress_(e), log_(log),
        on_shutdown_(std::move(on_shutdown)) {}
  /// Routes under /v1/policy; `parts` starts after "policy".
  std::string policy_route(const std::string& method, const std::vector<std::string>& parts,
                           const std::string& body, int& status);
  /// GET /v1/policy/log: the JSON array of entries, newest first.
  Result<std::string> log_query(const std::string& query);
  /// GET /v1/policy/log/stream: writes the response itself, one JSON entry
  /// per chunk, until the client goes away or the server stops.
  void log_stream(int fd, const std::string& query);
  void serve(int fd);

  Fd listener_;
  SandboxManager& manager_;
  PolicyService& policy_;
  EgressService& egress_;
  Logger& log_;
  std::function<void()> on_shutdown_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::set<int> conns_;
  int active_ = 0;
  std::condition_variable idle_;
};

}  // namespace sbx::daemon
