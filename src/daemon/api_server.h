// sandboxd's HTTP/JSON API on a unix socket (routes in proto/api.h). One
// thread per connection; the peer's uid is checked with SO_PEERCRED before a
// single byte is parsed. Requests are dispatched through an ApiRouter;
// library exceptions stop at this boundary.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "base/fd.h"
#include "base/log.h"
#include "base/result.h"
#include "daemon/api_router.h"
#include "daemon/template_load_routes.h"
#include "daemon/egress_service.h"
#include "daemon/policy_routes.h"
#include "daemon/policy_service.h"
#include "daemon/sandbox_manager.h"
#include "daemon/sandbox_routes.h"
#include "daemon/template_routes.h"

namespace sbx::daemon {

/// Largest request body accepted; a larger one is answered 413. A create
/// request carrying a user's kit holds up to 64 KiB + 1 MiB of files as
/// base64 (proto/kit_bundle.h), so 2 MiB.
inline constexpr size_t kMaxRequestBody = 2 << 20;

class ApiServer {
 public:
  /// Listens on `socket_path` (mode 0600). `on_shutdown` runs when a client
  /// asks the daemon to exit. Without `templates` there are no template
  /// routes and create builds no agent layers (tests).
  static Result<std::unique_ptr<ApiServer>> listen(const std::string& socket_path,
                                                   SandboxManager& manager, PolicyService& policy,
                                                   EgressService& egress, Logger& log,
                                                   std::function<void()> on_shutdown,
                                                   TemplateService* templates = nullptr);
  ~ApiServer();
  /// Accepts connections until stop() is called.
  void run();
  /// Makes run() return; safe from any thread.
  void stop();
  /// The route table, for routes installed from outside (secrets); add
  /// them before run().
  ApiRouter& router() { return router_; }

 private:
  ApiServer(Fd listener, SandboxManager& m, PolicyService& p, EgressService& e, Logger& log,
            std::function<void()> on_shutdown, TemplateService* templates);
  /// Serves one connection's requests until it closes or is taken over.
  void serve(int fd);

  Fd listener_;
  Logger& log_;
  std::function<void()> on_shutdown_;
  SandboxRoutes sandbox_routes_;
  PolicyRoutes policy_routes_;
  TemplateLoadRoutes template_load_routes_;
  std::unique_ptr<TemplateRoutes> template_routes_;
  ApiRouter router_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::set<int> conns_;
  int active_ = 0;
  std::condition_variable idle_;
};

}  // namespace sbx::daemon
