// The daemon API's /v1/secrets messages. A listing never carries a value;
// only a set request does (over the user-only socket).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace sbx::proto {

/// One secret as `sbx secret ls` shows it.
struct SecretInfo {
  std::string scope;    ///< "" global, else the sandbox
  std::string service;  ///< built-in name, or a custom service's env var
  std::string source;   ///< "stored", or "env VAR" (sandboxd's environment)
  bool custom = false;
  std::vector<std::string> hosts;  ///< the hosts it goes to
  std::string env;                 ///< custom: the guest variable
  std::string header;              ///< custom: the header it fills
  std::string placeholder;         ///< custom: replaced in request heads
};
/// GET /v1/secrets.
std::string to_json(const std::vector<SecretInfo>& list);
Result<std::vector<SecretInfo>> parse_secret_list(std::string_view json);

/// POST /v1/secrets: add or replace.
struct SecretSetRequest {
  std::string scope;  ///< "" global, else the sandbox
  std::string service;
  std::string value;
  bool custom = false;
  std::vector<std::string> hosts;
  std::string env, header, placeholder;
};
std::string to_json(const SecretSetRequest& r);
Result<SecretSetRequest> parse_secret_set_request(std::string_view json);

/// A host whose TLS is relayed without interception, so no credential is
/// injected (`sbx secret bypass`): for clients that pin certificates.
struct SecretBypass {
  std::string scope;  ///< "" global, else the sandbox
  std::string host;
};
/// POST /v1/secrets/bypass and /v1/secrets/bypass/remove.
std::string to_json(const SecretBypass& b);
Result<SecretBypass> parse_secret_bypass(std::string_view json);
/// GET /v1/secrets/bypass.
std::string to_json(const std::vector<SecretBypass>& list);
Result<std::vector<SecretBypass>> parse_secret_bypass_list(std::string_view json);

}  // namespace sbx::proto
