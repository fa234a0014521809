// Templates as sandboxd serves them: listing, inspecting and removing them,
// saving a stopped sandbox's disk as a layer (`sbx template save`), and
// building an agent's layer from its kit: a sandbox booted from the parent
// through the normal create path (so its network goes through the egress
// proxy and the policy), the kit's install steps run as root, the sandbox
// stopped and its disk saved with the same mechanism as `template save`.
// Builds are cached by their inputs, run under a lock and renamed into place.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "base/log.h"
#include "base/result.h"
#include "daemon/daemon_config.h"
#include "daemon/guest_provisioner.h"
#include "daemon/kit_catalog.h"
#include "daemon/policy_service.h"
#include "daemon/sandbox_manager.h"
#include "daemon/user_kits.h"
#include "image/template_catalog.h"
#include "kit/kit.h"
#include "proto/template_api.h"

namespace sbx::daemon {

/// The cache key of a kit's layer: its parent's id and everything in the kit
/// that changes what the install leaves on disk (install steps, node, env,
/// files). Entry, allow rules and credentials are not in it.
std::string kit_layer_id(const std::string& parent_id, const kit::Kit& kit);

/// Free space a layer build asks for before it starts.
inline constexpr uint64_t kBuildFreeBytes = 3ull << 30;

class TemplateService {
 public:
  using ProgressFn = SandboxManager::ProgressFn;

  TemplateService(DaemonConfig cfg, SandboxManager& manager, PolicyService& policy,
                  GuestProvisioner& provisioner, KitLookup kits, Logger& log);

  Result<std::vector<proto::TemplateInfo>> list();
  Result<proto::TemplateInfo> inspect(const std::string& tag);
  /// Refused (kConflict) while a sandbox or another template uses it.
  Result<void> remove(const std::string& tag);
  /// Saves a sandbox's disk as layer `req.tag` over the template it was
  /// made from. A running sandbox is stopped first only with req.stop.
  Result<proto::TemplateInfo> save(const proto::SaveTemplateRequest& req,
                                   const ProgressFn& progress);
  /// Creates a sandbox; when its agent's kit installs anything, its layer
  /// is built first (or found in the cache) and the sandbox layered on it.
  /// A request carrying a user's kit (req.kit) runs that kit: checked
  /// again, refused (kBadRequest) when it takes a built-in agent's name,
  /// kept for the sandbox in the user kits. The kit's `allow` domains
  /// become allow rules of the sandbox (removed with it).
  Result<proto::SandboxInfo> create_sandbox(proto::CreateRequest req, const ProgressFn& progress);
  /// Where users' kits are kept; without it a request with a kit is
  /// refused. Set before use.
  void set_user_kits(UserKits* kits) { user_kits_ = kits; }
  /// The tag of the template for `kit`, building its layer if needed.
  Result<std::string> ensure_kit_template(const kit::Kit& kit, const ProgressFn& progress);

 private:
  std::string tdir() const;
  proto::TemplateInfo to_info(const image::TemplateEntry& e,
                              const std::vector<image::TemplateEntry>& all,
                              const std::vector<proto::SandboxInfo>& sandboxes) const;
  /// The parent template's id (building `shell` if needed).
  Result<std::string> parent_id(const std::string& parent_tag, const ProgressFn& progress);
  /// Saves sandbox `name`'s disk (the sandbox stopped) as a layer.
  Result<image::TemplateEntry> save_layer_of(const SandboxRecord& rec, image::TemplateMeta meta);
  Result<void> build_layer(const kit::Kit& kit, const std::string& parent_tag,
                           const std::string& parent_id, const std::string& id,
                           const std::string& log_path, const ProgressFn& progress);

  DaemonConfig cfg_;
  SandboxManager& manager_;
  PolicyService& policy_;
  GuestProvisioner& provisioner_;
  KitLookup kits_;
  UserKits* user_kits_ = nullptr;
  Logger& log_;
  std::mutex mu_;  // save and remove against each other
};

}  // namespace sbx::daemon
