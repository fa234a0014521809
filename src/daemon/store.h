// sandboxd's persistent state: one SQLite database per user.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "daemon/sandbox_status.h"
#include "proto/api.h"

namespace sbx::daemon {

/// One sandbox as stored. `status` is what the daemon last knew; on start-up
/// it is reconciled against the processes that really exist.
struct SandboxRecord {
  std::string name;
  std::string agent;
  std::string workspace;
  uint64_t memory_bytes = 0;
  int cpus = 0;
  uint64_t disk_bytes = 0;
  uint64_t docker_bytes = 0;  ///< the private dockerd's volume
  std::string template_id;
  std::string user;        ///< default user for exec and run
  std::string created_at;  ///< RFC 3339 UTC
  /// What the daemon last knew; stored by name (status_name).
  SandboxStatus status = SandboxStatus::kStopped;
  int64_t qemu_pid = 0;
  int64_t virtiofsd_pid = 0;
  std::string last_error;
  /// Created with --deny-network: all egress denied (schema 2).
  bool deny_network = false;
};

/// Thrown-free wrapper over the sandboxes table. Thread-safe.
class Store {
 public:
  /// Opens (creating if needed) the database at `path` and migrates it.
  static Result<std::unique_ptr<Store>> open(const std::string& path);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  /// Inserts a new record; fails with a "name taken" error on a duplicate.
  Result<void> insert(const SandboxRecord& r);
  Result<std::optional<SandboxRecord>> get(const std::string& name);
  Result<std::vector<SandboxRecord>> list();
  /// Replaces every mutable field of an existing record.
  Result<void> update(const SandboxRecord& r);
  Result<void> remove(const std::string& name);
  /// Published ports of a sandbox, in publication order.
  Result<std::vector<proto::PortMapping>> ports(const std::string& name);
  /// Records a mapping; a second mapping of the same host address fails.
  Result<void> add_port(const std::string& name, const proto::PortMapping& p);
  Result<void> remove_port(const std::string& name, const proto::PortMapping& p);
  /// Which sandbox, if any, has published this host address.
  Result<std::optional<std::string>> port_owner(const std::string& host_ip, uint16_t host_port);
  /// Names of sandboxes whose disk is layered on `template_id`.
  Result<std::vector<std::string>> users_of_template(const std::string& template_id);

 private:
  explicit Store(sqlite3* db) : db_(db) {}
  Result<void> exec(const std::string& sql);
  /// meta.schema: 1 for databases from before migrations existed.
  Result<int64_t> schema_version();
  /// Brings an older database up to the current schema, step by step.
  Result<void> migrate();
  sqlite3* db_;
  std::mutex mu_;
};

/// True when `e` is Store::insert's duplicate-name error.
bool is_name_taken(const Error& e);

}  // namespace sbx::daemon
