// The daemon API's /v1/secrets routes: set, list (never values), remove and
// reset the secrets the egress proxy injects (SecretStore,
// CredentialResolver), in the messages of proto/secret_api.h.
#pragma once

#include "daemon/api_router.h"
#include "daemon/credential_resolver.h"
#include "daemon/sandbox_manager.h"
#include "daemon/secret_store.h"
#include "proto/secret_api.h"

namespace sbx::daemon {

class SecretRoutes {
 public:
  SecretRoutes(SandboxManager& manager, SecretStore& store, const CredentialResolver& resolver)
      : manager_(manager), store_(store), resolver_(resolver) {}

  /// Adds the routes to `router`; this object must outlive it.
  void install(ApiRouter& router);

 private:
  /// GET /v1/secrets: stored secrets and those from sandboxd's environment.
  Result<ApiReply> list(const ApiRequest& req);
  /// POST /v1/secrets: a SecretSetRequest.
  Result<ApiReply> set(const ApiRequest& req);
  /// POST /v1/secrets/remove: {"scope", "service"}.
  Result<ApiReply> remove(const ApiRequest& req);
  /// POST /v1/secrets/reset: removes every stored secret.
  Result<ApiReply> reset(const ApiRequest& req);
  /// GET /v1/secrets/bypass: [{"scope", "host"}].
  Result<ApiReply> bypass_list(const ApiRequest& req);
  /// POST /v1/secrets/bypass: {"scope", "host"}; the sandbox must exist.
  Result<ApiReply> bypass_add(const ApiRequest& req);
  /// POST /v1/secrets/bypass/remove: {"scope", "host"}; 404 if none.
  Result<ApiReply> bypass_remove(const ApiRequest& req);
  /// The request's bypass, its host normalised; 400 if it is not a host name.
  static Result<proto::SecretBypass> bypass_of(const ApiRequest& req);

  SandboxManager& manager_;
  SecretStore& store_;
  const CredentialResolver& resolver_;
};

}  // namespace sbx::daemon
