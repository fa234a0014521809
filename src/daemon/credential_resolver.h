// Which credential goes to which host: the built-in services (anthropic,
// openai, github, google), the custom ones from `sbx secret set-custom`, and
// the order they are looked up in (the sandbox's stored secret, then the
// global one, then sandboxd's own environment). Implements the egress
// proxy's net::CredentialSource, and names the variables a guest sees.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "daemon/secret_store.h"
#include "net/credential_source.h"

namespace sbx::daemon {

/// Where one built-in credential goes: a host and the header it fills.
struct ServiceHost {
  std::string host;
  std::string header;
  net::CredentialFormat format = net::CredentialFormat::kRaw;
};

/// One way a service takes a credential: the guest variables that hold
/// the sentinel and the hosts it is sent to.
struct ServiceVariant {
  std::vector<std::string> env;  ///< the first is the one looked up first in the host env
  std::vector<ServiceHost> hosts;
};

/// A built-in service.
struct BuiltinService {
  std::string name;
  std::vector<ServiceVariant> variants;
};

/// The built-in services, in the order `sbx secret ls` shows them.
const std::vector<BuiltinService>& builtin_services();
/// The built-in service called `name`, or nullptr.
const BuiltinService* find_builtin_service(const std::string& name);

/// A credential in effect for a sandbox (no value), for listings.
struct EffectiveSecret {
  std::string service;
  std::string source;  ///< "sandbox", "global" or "env VAR"
};

/// Resolves credentials from the store and the host environment.
/// Thread-safe (the store is).
class CredentialResolver : public net::CredentialSource {
 public:
  /// `host_env`: sandboxd's environment (only the built-in variables are kept).
  CredentialResolver(const SecretStore& store, const std::map<std::string, std::string>& host_env);
  /// The process environment as a map, for the constructor.
  static std::map<std::string, std::string> process_env();

  std::vector<net::CredentialRule> rules_for(const std::string& sandbox,
                                             const std::string& host) const override;
  /// True when a bypass for `host` is stored globally or for `sandbox`.
  bool bypassed(const std::string& sandbox, const std::string& host) const override;
  /// "VAR=proxy-managed" (or VAR=placeholder for custom services) for every
  /// variable whose service has a credential for `sandbox`.
  std::vector<std::string> guest_env(const std::string& sandbox) const;
  /// Host-environment credentials in effect (no values), for `sbx secret ls`.
  std::vector<EffectiveSecret> from_host_env() const;

 private:
  struct Resolved {
    const ServiceVariant* variant;
    std::string value;
  };
  std::vector<Resolved> resolve(const BuiltinService& s, const std::vector<StoredSecret>& all,
                                const std::string& sandbox) const;

  const SecretStore& store_;
  std::map<std::string, std::string> host_env_;
};

}  // namespace sbx::daemon
