// Persistent policy: the user's rules and the chosen preset, in a SQLite
// file of their own (state/policy.db) so that policy survives daemon
// restarts and is independent of the sandbox store's schema.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "net/policy.h"

// SQLite stays an implementation detail: callers need not see its header.
struct sqlite3;

namespace sbx::net {

/// Rules and preset on disk. Thread-safe.
class PolicyStore {
 public:
  /// Opens or creates the database (":memory:" for tests). A new store has
  /// the balanced preset and no rules.
  static Result<std::unique_ptr<PolicyStore>> open(const std::string& path);
  ~PolicyStore();
  PolicyStore(const PolicyStore&) = delete;
  PolicyStore& operator=(const PolicyStore&) = delete;

  /// Adds one rule per resource in the comma-separated `resources` for
  /// `sandbox` (empty = global). Returns their ids in input order; adding a
  /// rule that already exists returns the existing id. Nothing is added if
  /// any resource is invalid.
  Result<std::vector<int64_t>> add(std::string_view sandbox, Action action,
                                   std::string_view resources);
  /// Removes the rule with `id`; error (code 404) if there is none.
  Result<void> remove(int64_t id);
  /// Removes rules for `resource` in `sandbox`'s scope (empty = global),
  /// of `action` or both actions. Returns how many; error if none.
  Result<size_t> remove_resource(std::string_view sandbox, std::string_view resource,
                                 std::optional<Action> action = std::nullopt);
  /// All rules (sandbox = nullopt) or those of one scope ("" = global only).
  Result<std::vector<Rule>> list(std::optional<std::string> sandbox = std::nullopt) const;
  /// `sbx policy init PRESET`.
  Result<void> set_preset(Preset p);
  Result<Preset> preset() const;
  /// `sbx policy reset`: every rule removed, preset back to balanced.
  Result<void> reset();
  /// Everything needed to decide: preset, built-in rules and user rules.
  Result<Policy> load(const PresetInputs& inputs) const;

 private:
  explicit PolicyStore(sqlite3* db) : db_(db) {}
  Result<void> exec(const char* sql) const;

  mutable std::mutex mu_;
  sqlite3* db_;
};

}  // namespace sbx::net
