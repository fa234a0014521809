// The sandbox state machine: create, start, stop, remove, exec. Owns the
// store, the running VMs and their agent links. Every state change of a
// sandbox happens here, under that sandbox's lock.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/log.h"
#include "base/paths.h"
#include "base/result.h"
#include "daemon/agent_link.h"
#include "daemon/store.h"
#include "proto/api.h"
#include "proto/messages.h"

namespace sbx::vm {
class VmProcess;
}

namespace sbx::daemon {

/// Settings the daemon reads once at start-up.
struct DaemonConfig {
  Paths paths;
  std::string agent_binary;   ///< static sbx-agent for the initramfs
  std::string accel;          ///< "", "auto", "kvm", "tcg" (SBX_ACCEL)
  std::string workspace_fs = "9p";  ///< "9p" or "virtiofs" (SBX_WORKSPACE_FS)
  std::chrono::milliseconds boot_timeout{std::chrono::minutes(3)};
  /// A first boot whose console shows no agent line this long is restarted
  /// (SBX_SILENT_BOOT_TIMEOUT, seconds).
  std::chrono::milliseconds silent_boot_timeout{std::chrono::seconds(30)};
  uint64_t disk_bytes = 20ull << 30;
  uint64_t docker_bytes = 10ull << 30;
};

/// Host facts used for defaults; injectable for tests.
struct HostFacts {
  uint64_t memory_bytes = 0;
  int cores = 1;
  static HostFacts probe();
};

/// Default memory: 50% of the host, clamped to 512 MiB..32 GiB.
uint64_t default_memory(const HostFacts& h);
/// Largest memory a sandbox may ask for: max(75% of the host, 512 MiB).
uint64_t max_memory(const HostFacts& h);
/// Encodes a path for the kernel command line (no spaces; %XX escapes).
std::string cmdline_escape(std::string_view path);

class SandboxManager {
 public:
  SandboxManager(DaemonConfig cfg, std::unique_ptr<Store> store, Logger& log);
  ~SandboxManager();

  /// Reconciles stored state with reality after a daemon (re)start:
  /// re-adopts QEMU processes that still run, marks the others.
  void recover();

  Result<proto::SandboxInfo> create(const proto::CreateRequest& req);
  Result<std::vector<proto::SandboxInfo>> list();
  Result<proto::SandboxInfo> get(const std::string& name);
  Result<proto::SandboxInfo> start(const std::string& name);
  Result<proto::SandboxInfo> stop(const std::string& name);
  Result<void> remove(const std::string& name, bool force);
  /// Starts the sandbox if needed, fills in the default user and working
  /// directory, and opens the command. `fail_code` gets 126/127 when the
  /// command itself cannot run.
  Result<std::shared_ptr<GuestChannel>> exec(const std::string& name,
                                            proto::ExecRequest req, int* fail_code);
  /// Called with a sandbox's name after it has been removed (rm, reset,
  /// prune), for state kept elsewhere (its policy rules). Set before use.
  void set_on_removed(std::function<void(const std::string&)> f) { on_removed_ = std::move(f); }
  /// Called with a sandbox's name, its --deny-network flag and its agent
  /// link whenever a link comes up: after a boot, and for each VM re-adopted
  /// by recover(). Runs under the sandbox's lock. Set before recover().
  using LinkUpFn = std::function<void(const std::string& name, bool deny_network,
                                      const std::shared_ptr<AgentLink>& link)>;
  void set_on_link_up(LinkUpFn f) { on_link_up_ = std::move(f); }
  /// Called with a sandbox's name once its link is closed: stop, a VM or
  /// link found dead, daemon exit (detach_all). Runs under the sandbox's
  /// lock, except from detach_all.
  void set_on_link_down(std::function<void(const std::string&)> f) { on_link_down_ = std::move(f); }
  /// Daemon exit: drops agent links but leaves the VMs running for the next
  /// daemon to adopt.
  void detach_all();

  /// Published ports of a sandbox.
  Result<std::vector<proto::PortMapping>> ports(const std::string& name);
  /// Publishes a port. On a running sandbox the host listener opens at
  /// once; on a stopped one the host port is checked and reserved, and
  /// opens when it starts. Returns the mapping with the chosen host port.
  Result<proto::PortMapping> publish(const std::string& name, proto::PortMapping m);
  /// Removes the mappings matching `m` (host_ip "" and sandbox_port 0 match
  /// any); 404 when none did.
  Result<std::vector<proto::PortMapping>> unpublish(const std::string& name,
                                                    const proto::PortMapping& m);
  /// The private dockerd's state as the agent reports it: JSON
  /// {"state": "absent|starting|running|failed", "since_ms": N}.
  Result<std::string> docker_state(const std::string& name);
  /// Stops and deletes every sandbox.
  Result<std::vector<std::string>> reset();
  /// Removes stopped sandboxes and cached artefacts no sandbox uses.
  Result<proto::PruneResult> prune(bool dry_run);

 private:
  struct Running;
  struct Artifacts {
    std::string kernel, initrd, template_image, template_id;
  };

  std::shared_ptr<std::mutex> lock_for(const std::string& name);
  Result<SandboxRecord> load(const std::string& name);
  /// load() plus refresh_locked(): the record as the live VM has it. The
  /// caller holds the sandbox's lock.
  Result<SandboxRecord> load_current_locked(const std::string& name);
  Result<Artifacts> prepare_artifacts();
  Result<void> start_locked(SandboxRecord& rec);
  Result<void> stop_locked(SandboxRecord& rec, bool graceful);
  /// Checks that a "running" record still has a live VM; updates it if not.
  void refresh_locked(SandboxRecord& rec);
  proto::SandboxInfo to_info(const SandboxRecord& rec) const;
  std::string sandbox_dir(const std::string& name) const;
  std::string runtime_dir(const std::string& name) const;
  Result<void> save(const SandboxRecord& rec);
  /// Binds the stored ports of a running sandbox (failures are logged and
  /// reported in its error text; the sandbox keeps running).
  void open_ports_locked(SandboxRecord& rec, Running& run);
  /// Registers a VM whose agent answered, opens its ports, saves "running".
  void mark_running_locked(SandboxRecord& rec, const std::shared_ptr<Running>& run);
  Result<proto::PortMapping> publish_locked(SandboxRecord& rec, proto::PortMapping m);

  DaemonConfig cfg_;
  std::unique_ptr<Store> store_;
  Logger& log_;
  HostFacts host_;
  uint64_t tsc_khz_ = 0;

  std::mutex mu_;  // guards the maps below
  std::map<std::string, std::shared_ptr<std::mutex>> locks_;
  std::map<std::string, std::shared_ptr<Running>> running_;

  std::function<void(const std::string&)> on_removed_;
  LinkUpFn on_link_up_;
  std::function<void(const std::string&)> on_link_down_;
  std::mutex create_mu_;  // creation reserves names and directories
  std::mutex artifacts_mu_;
  std::optional<Artifacts> artifacts_;
};

}  // namespace sbx::daemon
