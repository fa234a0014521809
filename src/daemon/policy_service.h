// The daemon's side of `sbx policy`: the egress rules (net::PolicyStore),
// the preset's host-specific inputs (the host's apt sources and npm
// registry), and the decision a connection would get (`policy check`).
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/log.h"
#include "base/result.h"
#include "net/policy.h"
#include "net/policy_store.h"
#include "proto/api.h"

namespace sbx::daemon {

class PolicyService {
 public:
  /// Opens (creating) the policy database at `path`.
  static Result<std::unique_ptr<PolicyService>> open(const std::string& path, Logger& log);

  /// The user's rules and what the preset adds (GET /v1/policy).
  Result<proto::PolicyListing> listing();
  /// Adds comma-separated resources; `sandbox` empty = global.
  Result<std::vector<int64_t>> add(const std::string& sandbox, net::Action action,
                                   const std::string& resources);
  Result<size_t> remove_id(int64_t id);
  Result<size_t> remove_resource(const std::string& sandbox, const std::string& resource);
  /// Drops the rules scoped to a sandbox that is gone, so a new sandbox of
  /// the same name does not inherit them. Returns how many went.
  Result<size_t> forget_sandbox(const std::string& sandbox);
  Result<void> init(const std::string& preset);
  Result<void> reset();
  /// What a connection to TARGET ("host", "host:port", an IP, "[v6]:port")
  /// from `sandbox` would get, by policy. Names default to port 443.
  Result<net::Decision> check(const std::string& sandbox, const std::string& target);
  /// The policy connections are decided by now: built on first use and
  /// rebuilt after every edit, so edits apply to running sandboxes' next
  /// connection and DNS query. If the store cannot be read it stays the
  /// last good one (deny-all before there was one: egress fails closed).
  /// Thread-safe and cheap (a shared_ptr copy).
  std::shared_ptr<const net::Policy> current();

 private:
  PolicyService(std::unique_ptr<net::PolicyStore> store, Logger& log)
      : store_(std::move(store)), log_(log) {}
  /// The preset's inputs, read from the host once.
  const net::PresetInputs& inputs();

  std::unique_ptr<net::PolicyStore> store_;
  Logger& log_;
  std::mutex mu_;
  std::optional<net::PresetInputs> inputs_;
  /// Rebuilds current_ from the store.
  void rebuild();
  std::mutex policy_mu_;  // guards current_; never held with mu_
  std::shared_ptr<const net::Policy> current_;
};

/// Host names of every apt source the host uses (Debian's and third-party).
std::vector<std::string> apt_hosts_of(const std::vector<std::string>& uris);

}  // namespace sbx::daemon
