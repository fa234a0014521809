// The daemon API's sandbox routes (/v1/sandboxes..., /v1/reset, /v1/prune),
// answered by the SandboxManager, and the exec upgrade that hands the
// connection to bridge_exec.
#pragma once

#include "base/log.h"
#include "daemon/api_router.h"
#include "daemon/sandbox_manager.h"

namespace sbx::daemon {

class SandboxRoutes {
 public:
  SandboxRoutes(SandboxManager& manager, Logger& log) : manager_(manager), log_(log) {}

  /// Adds the routes to `router`; this object must outlive it.
  void install(ApiRouter& router);

 private:
  Result<ApiReply> list(const ApiRequest& req);
  Result<ApiReply> create(const ApiRequest& req);
  Result<ApiReply> get(const ApiRequest& req);
  Result<ApiReply> remove(const ApiRequest& req);
  Result<ApiReply> start(const ApiRequest& req);
  Result<ApiReply> stop(const ApiRequest& req);
  Result<ApiReply> docker(const ApiRequest& req);
  Result<ApiReply> ports(const ApiRequest& req);
  Result<ApiReply> publish(const ApiRequest& req);
  Result<ApiReply> unpublish(const ApiRequest& req);
  Result<ApiReply> reset(const ApiRequest& req);
  Result<ApiReply> prune(const ApiRequest& req);
  /// POST /v1/sandboxes/{name}/exec with "Upgrade: sbx-exec/1": answers 101
  /// and relays frames until the command ends.
  Result<void> exec(const ApiRequest& req, ApiConnection& conn);

  SandboxManager& manager_;
  Logger& log_;
};

}  // namespace sbx::daemon
