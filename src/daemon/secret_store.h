// The secrets sandboxd injects into guests' requests: one JSON file, 0600 in
// a 0700 directory of the state dir, checked every time the daemon starts.
// Values leave this class only towards the egress proxy (credential_resolver)
// and never reach a log, the API's listings or a guest.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/result.h"

namespace sbx::daemon {

/// One stored secret.
struct StoredSecret {
  std::string scope;    ///< "" for global, else the sandbox it belongs to
  std::string service;  ///< built-in service name, or a custom one's env var
  std::string value;
  bool custom = false;
  std::vector<std::string> hosts;  ///< custom: the hosts it is sent to
  std::string env;                 ///< custom: the guest variable holding the placeholder
  std::string header;              ///< custom: header set to the value (optional)
  std::string placeholder;         ///< custom: replaced by the value in request heads
  /// Global only: the sandboxes that existed when it was first set. A global
  /// secret applies to sandboxes created after it; replacing its value
  /// keeps this list, so a rotated key reaches the sandboxes that had it.
  std::vector<std::string> not_for;
};

/// A host whose TLS is relayed without interception (`sbx secret bypass`).
struct BypassHost {
  std::string scope;  ///< "" for every sandbox, else the sandbox
  std::string host;   ///< normalised (lower case, punycode, no trailing dot)
};

/// The secrets file. Thread-safe.
class SecretStore {
 public:
  static constexpr const char* kFileName = "secrets.json";

  /// Opens `dir` (created 0700 if missing) and its secrets file. Refuses a
  /// directory that is not 0700 or a file that is not 0600, or either owned
  /// by someone else, saying how to fix it.
  static Result<std::unique_ptr<SecretStore>> open(const std::string& dir);

  /// Adds or replaces the secret for (scope, service). The value must be
  /// non-empty, at most 16 KiB, without CR, LF or NUL (it goes into a header).
  /// A replaced secret keeps its `not_for`.
  Result<void> set(StoredSecret s);
  /// Removes (scope, service); 404 if there was none.
  Result<void> remove(const std::string& scope, const std::string& service);
  /// Removes every secret and bypass scoped to `sandbox`, and the name from
  /// every `not_for` (it was removed; a new sandbox of that name is new).
  Result<void> forget_sandbox(const std::string& sandbox);
  /// Removes every secret and bypass (sbx reset).
  Result<void> clear();
  /// Every secret, values included: callers must not pass values on.
  std::vector<StoredSecret> all() const;

  /// Exempts `host` (normalised) from interception for `scope`; adding
  /// one twice is not an error.
  Result<void> add_bypass(const std::string& scope, const std::string& host);
  /// Removes a bypass; 404 if there was none.
  Result<void> remove_bypass(const std::string& scope, const std::string& host);
  /// Every bypass, in the order added.
  std::vector<BypassHost> bypasses() const;
  /// Path of the secrets file.
  std::string path() const { return dir_ + "/" + kFileName; }

 private:
  explicit SecretStore(std::string dir) : dir_(std::move(dir)) {}
  Result<void> save_locked();

  std::string dir_;
  mutable std::mutex mu_;
  std::vector<StoredSecret> secrets_;
  std::vector<BypassHost> bypass_;
};

/// Checks a secret value: non-empty, ≤ 16 KiB, no CR/LF/NUL.
Result<void> validate_secret_value(const std::string& value);

}  // namespace sbx::daemon
