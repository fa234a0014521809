// The seam between the egress proxy and wherever credentials are kept: the
// proxy asks for the rules that apply to one sandbox's requests to one
// host, and never sees the store. A host with no rule is never intercepted.
#pragma once

#include <string>
#include <vector>

namespace sbx::net {

/// How a credential is written into its header.
enum class CredentialFormat {
  kRaw,         ///< the value as it is (x-api-key: VALUE)
  kBearer,      ///< "Bearer VALUE"
  kBasicToken,  ///< "Basic base64(x-access-token:VALUE)" (git over HTTPS to GitHub)
};

/// One credential to put into requests bound for a host.
struct CredentialRule {
  std::string service;  ///< for the network log ("anthropic"); never the value
  /// Header set to the value. Replaced when the request carries it; when a
  /// request carries none of its host's rule headers, the first rule's is added.
  std::string header;
  CredentialFormat format = CredentialFormat::kRaw;
  /// Replaced by the value wherever it appears in the request head; empty: none.
  std::string placeholder;
  std::string value;  ///< the secret; no CR, LF or NUL (callers check)
};

/// Where the proxy gets credential rules. Implementations are thread-safe.
class CredentialSource {
 public:
  virtual ~CredentialSource() = default;
  /// The rules for `sandbox`'s requests to `host` (normalised: lower case,
  /// punycode, no trailing dot). Empty: relay the connection untouched.
  virtual std::vector<CredentialRule> rules_for(const std::string& sandbox,
                                                const std::string& host) const = 0;
  /// Whether `sandbox`'s TLS to `host` must be relayed opaquely even when it
  /// has rules (`sbx secret bypass`: clients that pin certificates). Such a
  /// connection carries no injected credential.
  virtual bool bypassed(const std::string& sandbox, const std::string& host) const {
    (void)sandbox;
    (void)host;
    return false;
  }
};

/// What the network log's rule says after the decision for a bypassed connection.
inline constexpr const char* kBypassNote =
    " (bypassed: relayed without TLS interception, no credential injected)";

/// The value a guest's environment variable holds for a proxy-managed key.
inline constexpr const char* kProxyManagedSentinel = "proxy-managed";

}  // namespace sbx::net
