// The sandbox state machine: create, start, stop, remove, exec. Owns the
// store, the running guests and their agent links. Every state change of a
// sandbox happens here, under that sandbox's lock. Booting and the files of
// a sandbox are the Launcher's; published ports are recorded by PortTable.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/log.h"
#include "base/result.h"
#include "daemon/agent_link.h"
#include "daemon/create_request.h"
#include "daemon/daemon_config.h"
#include "daemon/launcher.h"
#include "daemon/port_table.h"
#include "daemon/resource_sampler.h"
#include "daemon/store.h"
#include "proto/api.h"
#include "proto/messages.h"

namespace sbx::daemon {

class SandboxManager {
 public:
  /// sandboxd's manager: boots QEMU VMs through a VmLauncher.
  SandboxManager(DaemonConfig cfg, std::unique_ptr<Store> store, Logger& log);
  /// A manager over any launcher (tests run guests without QEMU).
  SandboxManager(DaemonConfig cfg, std::unique_ptr<Store> store, std::unique_ptr<Launcher> launcher,
                 Logger& log, HostFacts host = HostFacts::probe());
  ~SandboxManager();

  /// Reconciles stored state with reality after a daemon (re)start:
  /// re-adopts guests that still run, marks the others failed.
  void recover();

  /// Stage lines of work the caller waits for (template builds).
  using ProgressFn = std::function<void(const std::string&)>;
  /// What a create does besides the request (TemplateService's part).
  struct CreateHooks {
    /// An agent accepted besides set_agents(): a user's kit's name.
    std::string extra_agent;
    /// Called with the new sandbox's name once its record exists, before it
    /// starts (it keeps the sandbox's kit and policy rules); an error
    /// undoes the creation.
    std::function<Result<void>(const std::string& name)> inserted;
  };
  /// Creates (and, unless req.start is false, starts) a sandbox; build
  /// stages go to `progress`.
  Result<proto::SandboxInfo> create(const proto::CreateRequest& req,
                                    const ProgressFn& progress = nullptr,
                                    const CreateHooks& hooks = {});
  Result<std::vector<proto::SandboxInfo>> list();
  Result<proto::SandboxInfo> get(const std::string& name);
  Result<proto::SandboxInfo> start(const std::string& name);
  Result<proto::SandboxInfo> stop(const std::string& name);
  Result<void> remove(const std::string& name, bool force);
  /// Starts the sandbox if needed, fills in the default user and working
  /// directory, and opens the command. When the command itself cannot run
  /// the error's exit_code is 126/127.
  Result<std::shared_ptr<GuestChannel>> exec(const std::string& name, proto::ExecRequest req);
  /// Called with a sandbox's name after it has been removed (rm, reset,
  /// prune), for state kept elsewhere (its policy rules). Set before use.
  void set_on_removed(std::function<void(const std::string&)> f) { on_removed_ = std::move(f); }
  /// Supplies "K=V" entries put before every exec request's own (which
  /// win): proxy-managed credential sentinels, the sbx CA's variables.
  /// Set before use.
  void set_exec_env(std::function<std::vector<std::string>(const std::string&)> f) {
    exec_env_ = std::move(f);
  }
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

  /// The agents create accepts (default: shell). Set before use.
  void set_agents(std::vector<std::string> agents) { agents_ = std::move(agents); }
  /// Fills in what the daemon knows about a sandbox's agent (its entry
  /// command and environment) in every SandboxInfo. Set before use.
  void set_info_decorator(std::function<void(proto::SandboxInfo&)> f) { decorate_ = std::move(f); }
  /// Called once a new sandbox first runs, with its link: before create
  /// answers, or at the first start of one created without starting.
  /// Writes into the guest what the host hands it (CAs, kit files,
  /// host_config). Set before use.
  using CreatedFn = std::function<void(const proto::SandboxInfo&, const proto::CreateRequest&,
                                       const std::shared_ptr<AgentLink>&, const ProgressFn&)>;
  void set_on_created(CreatedFn f) { on_created_ = std::move(f); }
  /// Runs `fn` on a sandbox that is not running, under its lock so nothing
  /// starts it meanwhile: a running one is stopped first when `stop`, else
  /// the answer is kConflict. `fn` gets the record and the disk's path.
  Result<void> with_stopped(const std::string& name, bool stop,
                            const std::function<Result<void>(const SandboxRecord&)>& fn);
  /// The agent link of a running sandbox (nullptr when not running).
  std::shared_ptr<AgentLink> link_of(const std::string& name);

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
  /// sbx's cache directory (templates, kernels).
  const std::string& cache_dir() const { return cfg_.paths.cache; }

 private:
  struct Running;

  std::shared_ptr<std::mutex> lock_for(const std::string& name);
  std::shared_ptr<Running> running(const std::string& name);
  Result<SandboxRecord> load(const std::string& name);
  /// load() plus refresh_locked(): the record as the live VM has it. The
  /// caller holds the sandbox's lock.
  Result<SandboxRecord> load_current_locked(const std::string& name);
  Result<void> start_locked(SandboxRecord& rec);
  Result<void> stop_locked(SandboxRecord& rec, bool graceful);
  /// Checks that a running record still has a live guest; updates it if not.
  void refresh_locked(SandboxRecord& rec);
  /// Closes a guest's link and forgets it (the guest itself is the caller's).
  void drop_locked(const std::string& name, Running& run);
  /// Records why a sandbox has no VM any more.
  void mark_failed_locked(SandboxRecord& rec, const std::string& why);
  proto::SandboxInfo to_info(const SandboxRecord& rec) const;
  Result<void> save(const SandboxRecord& rec);
  /// Binds the stored ports of a running sandbox (failures are logged and
  /// reported in its error text; the sandbox keeps running).
  void open_ports_locked(SandboxRecord& rec, Running& run);
  /// For a sandbox created without starting: runs on_created once, at its
  /// first start, from the request kept in its directory.
  void provision_pending_locked(const SandboxRecord& rec);
  /// Registers a guest whose agent answered, opens its ports, saves "running".
  void mark_running_locked(SandboxRecord& rec, LiveGuest guest);
  Result<proto::PortMapping> publish_locked(SandboxRecord& rec, proto::PortMapping m);

  DaemonConfig cfg_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Launcher> launcher_;
  Logger& log_;
  HostFacts host_;
  PortTable port_table_;

  std::mutex mu_;  // guards the maps below
  std::map<std::string, std::shared_ptr<std::mutex>> locks_;
  std::map<std::string, std::shared_ptr<Running>> running_;

  std::function<void(const std::string&)> on_removed_;

  std::function<std::vector<std::string>(const std::string&)> exec_env_;
  std::vector<std::string> agents_ = {"shell"};
  std::function<void(proto::SandboxInfo&)> decorate_;
  CreatedFn on_created_;
  LinkUpFn on_link_up_;
  std::function<void(const std::string&)> on_link_down_;
  std::mutex create_mu_;  // creation reserves names and directories
  // Samples the QEMU process behind each running sandbox's info; has its
  // own lock, so to_info() stays const for the callers.
  mutable ResourceSampler sampler_;
};

}  // namespace sbx::daemon
