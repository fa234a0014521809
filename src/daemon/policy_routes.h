// The daemon API's /v1/policy routes: the egress rules (PolicyService) and
// the network log (EgressService), in the typed messages of proto/api.h.
#pragma once

#include "daemon/api_router.h"
#include "daemon/egress_service.h"
#include "daemon/policy_service.h"
#include "daemon/sandbox_manager.h"

namespace sbx::daemon {

class PolicyRoutes {
 public:
  PolicyRoutes(SandboxManager& manager, PolicyService& policy, EgressService& egress)
      : manager_(manager), policy_(policy), egress_(egress) {}

  /// Adds the routes to `router`; this object must outlive it.
  void install(ApiRouter& router);

 private:
  Result<ApiReply> list(const ApiRequest& req);
  Result<ApiReply> add_rules(const ApiRequest& req);
  Result<ApiReply> remove(const ApiRequest& req);
  Result<ApiReply> init(const ApiRequest& req);
  Result<ApiReply> reset(const ApiRequest& req);
  Result<ApiReply> check(const ApiRequest& req);
  /// GET /v1/policy/log: the entries, newest first.
  Result<ApiReply> log(const ApiRequest& req);
  /// GET /v1/policy/log/stream: one JSON entry per chunk, until the client
  /// goes away or the server stops.
  Result<void> log_stream(const ApiRequest& req, ApiConnection& conn);
  /// A sandbox-scoped rule, check or log must name a sandbox that exists
  /// (rows of a removed sandbox of that name would mislead): 404 if not.
  Result<void> known_sandbox(const std::string& sandbox);

  SandboxManager& manager_;
  PolicyService& policy_;
  EgressService& egress_;
};

}  // namespace sbx::daemon
