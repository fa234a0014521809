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
  Result<void> set(StoredSecret s);
  /// Removes (scope, service); 404 if there was none.
  Result<void> remove(const std::string& scope, const std::string& service);
  /// Removes every secret scoped to `sandbox` (it was removed).
  Result<void> forget_sandbox(const std::string& sandbox);
  /// Removes every secret (sbx reset).
  Result<void> clear();
  /// Every secret, values included: callers must not pass values on.
  std::vector<StoredSecret> all() const;
  /// Path of the secrets file.
  std::string path() const { return dir_ + "/" + kFileName; }

 private:
  explicit SecretStore(std::string dir) : dir_(std::move(dir)) {}
  Result<void> save_locked();

  std::string dir_;
  mutable std::mutex mu_;
  std::vector<StoredSecret> secrets_;
};

/// Checks a secret value: non-empty, ≤ 16 KiB, no CR/LF/NUL.
Result<void> validate_secret_value(const std::string& value);

}  // namespace sbx::daemon
