#include "daemon/sandbox_manager.h"

#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <set>

#include "base/files.h"
#include "daemon/exec_defaults.h"
#include "daemon/port_publisher.h"
#include "daemon/sandbox_paths.h"
#include "daemon/vm_launcher.h"
#include "image/template_cache.h"
#include "image/template_catalog.h"

namespace sbx::daemon {

using namespace std::chrono_literals;
using Status = SandboxStatus;

struct SandboxManager::Running {
  std::unique_ptr<GuestVm> vm;
  std::shared_ptr<AgentLink> link;
  std::vector<std::unique_ptr<PortPublisher>> ports;
};

namespace {

std::string now_rfc3339() {
  time_t t = time(nullptr);
  tm g;
  gmtime_r(&t, &g);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &g);
  return buf;
}

Error not_found(const std::string& name) {
  return err(kNotFound, "sandbox '" + name + "' not found. Run 'sbx ls' to see your sandboxes.");
}

}  // namespace

SandboxManager::SandboxManager(DaemonConfig cfg, std::unique_ptr<Store> store, Logger& log)
    : SandboxManager(cfg, std::move(store), std::make_unique<VmLauncher>(cfg, log), log) {}

SandboxManager::SandboxManager(DaemonConfig cfg, std::unique_ptr<Store> store,
                               std::unique_ptr<Launcher> launcher, Logger& log, HostFacts host)
    : cfg_(std::move(cfg)),
      store_(std::move(store)),
      launcher_(std::move(launcher)),
      log_(log),
      host_(host),
      port_table_(*store_, log) {}

SandboxManager::~SandboxManager() { detach_all(); }

std::shared_ptr<std::mutex> SandboxManager::lock_for(const std::string& name) {
  std::lock_guard l(mu_);
  auto& m = locks_[name];
  if (!m) m = std::make_shared<std::mutex>();
  return m;
}

std::shared_ptr<SandboxManager::Running> SandboxManager::running(const std::string& name) {
  std::lock_guard l(mu_);
  auto it = running_.find(name);
  return it == running_.end() ? nullptr : it->second;
}

Result<void> SandboxManager::save(const SandboxRecord& rec) { return store_->update(rec); }

Result<SandboxRecord> SandboxManager::load(const std::string& name) {
  auto v = proto::validate_sandbox_name(name);
  if (!v) return not_found(name);
  auto r = store_->get(name);
  if (!r) return r.error();
  if (!r->has_value()) return not_found(name);
  return std::move(**r);
}

Result<SandboxRecord> SandboxManager::load_current_locked(const std::string& name) {
  auto rec = load(name);
  if (rec) refresh_locked(*rec);
  return rec;
}

proto::SandboxInfo SandboxManager::to_info(const SandboxRecord& rec) const {
  proto::SandboxInfo s;
  s.name = rec.name;
  s.agent = rec.agent;
  s.status = std::string(status_name(rec.status));
  s.workspace = rec.workspace;
  s.memory_bytes = rec.memory_bytes;
  s.cpus = rec.cpus;
  s.disk_bytes = rec.disk_bytes;
  s.template_id = rec.template_id;
  s.created_at = rec.created_at;
  s.error = rec.last_error;
  s.deny_network = rec.deny_network;
  if (rec.status == SandboxStatus::kRunning && rec.qemu_pid > 0) {
    auto use = sampler_.sample(rec.qemu_pid);
    s.cpu_percent = use.cpu_percent;
    s.rss_bytes = use.rss_bytes;
  }
  if (auto p = store_->ports(rec.name); p) s.ports = std::move(*p);
  if (decorate_) decorate_(s);
  return s;
}

Result<proto::SandboxInfo> SandboxManager::create(const proto::CreateRequest& in,
                                                  const ProgressFn& progress,
                                                  const CreateHooks& hooks) {
  std::vector<std::string> agents = agents_;
  if (!hooks.extra_agent.empty()) agents.push_back(hooks.extra_agent);
  auto valid = validate_create_request(in, host_, cfg_.docker_bytes, agents);
  if (!valid) return valid.error();
  const proto::CreateRequest& req = *valid;

  std::lock_guard cl(create_mu_);
  auto existing = store_->get(req.name);
  if (!existing) return existing.error();
  if (existing->has_value())
    return err(kConflict, "a sandbox named '" + req.name +
                              "' already exists; choose another name with --name, or remove it "
                              "with 'sbx rm " +
                              req.name + "'");
  auto template_id = launcher_->create(req.name, cfg_.disk_bytes, req.docker_bytes,
                                       Launcher::DiskSource{req.template_tag, progress});
  if (!template_id) return template_id.error();

  SandboxRecord rec;
  rec.docker_bytes = req.docker_bytes;
  rec.name = req.name;
  rec.agent = req.agent;
  rec.workspace = req.workspace;
  rec.memory_bytes = req.memory_bytes;
  rec.cpus = req.cpus;
  rec.disk_bytes = cfg_.disk_bytes;
  rec.template_id = *template_id;
  // A host user's files keep their owner: the guest's `agent` takes the
  // host uid. As root, the session is root too (uid 0 cannot be shared).
  rec.user = getuid() == 0 ? "root" : "agent";
  rec.created_at = now_rfc3339();
  rec.status = Status::kStopped;
  rec.deny_network = req.deny_network;
  if (auto r = store_->insert(rec); !r) {
    (void)launcher_->remove(rec.name);
    if (is_name_taken(r.error()))
      return err(kConflict, "a sandbox named '" + req.name + "' already exists");
    return r.error();
  }
  log_.info("created sandbox " + rec.name + " for " + rec.workspace);
  // A port that cannot be published undoes the creation: nothing half-made.
  auto undo = [&](const Error& e) -> Error {
    (void)remove(rec.name, /*force=*/true);
    return e;
  };
  if (hooks.inserted)
    if (auto r = hooks.inserted(rec.name); !r) return undo(r.error());
  {
    auto m = lock_for(rec.name);
    std::lock_guard l(*m);
    for (auto& p : req.ports) {
      auto r = publish_locked(rec, p);
      if (!r) return undo(r.error());
    }
  }
  if (req.start) {
    auto s = start(rec.name);
    if (!s) return s.error().wrap("start sandbox '" + rec.name + "'");
    if (on_created_)
      if (auto link = link_of(rec.name)) on_created_(*s, req, link, progress);
    return *s;
  }
  // Provisioned at its first start instead (its kit is kept elsewhere).
  proto::CreateRequest pending = req;
  pending.kit.reset();
  if (auto r = write_file_atomic(SandboxPaths(cfg_.paths, rec.name).pending_provision,
                                 proto::to_json(pending), 0600);
      !r)
    return undo(r.error().wrap("create sandbox '" + rec.name + "'"));
  return to_info(rec);
}

std::shared_ptr<AgentLink> SandboxManager::link_of(const std::string& name) {
  auto run = running(name);
  return run ? run->link : nullptr;
}

Result<void> SandboxManager::with_stopped(
    const std::string& name, bool stop,
    const std::function<Result<void>(const SandboxRecord&)>& fn) {
  auto m = lock_for(name);
  std::lock_guard l(*m);
  auto rec = load_current_locked(name);
  if (!rec) return rec.error();
  if (is_active(rec->status)) {
    if (!stop)
      return err(kConflict, "sandbox '" + name + "' is running; stop it first with 'sbx stop " +
                                name + "', or pass --stop");
    if (auto r = stop_locked(*rec, /*graceful=*/true); !r) return r.error();
  }
  return fn(*rec);
}

void SandboxManager::drop_locked(const std::string& name, Running& run) {
  run.ports.clear();  // no new connections into a guest that is going away
  if (run.link) run.link->close();
  if (on_link_down_) on_link_down_(name);
}

void SandboxManager::mark_failed_locked(SandboxRecord& rec, const std::string& why) {
  rec.status = Status::kFailed;
  rec.last_error = why;
  rec.qemu_pid = rec.virtiofsd_pid = 0;
  (void)save(rec);
  launcher_->release(rec.name);
}

void SandboxManager::refresh_locked(SandboxRecord& rec) {
  if (!is_active(rec.status)) return;
  auto run = running(rec.name);
  bool alive = run && run->vm && run->vm->alive();
  if (alive && run->link && run->link->connected()) return;
  if (alive) {
    // A killed VM closes its sockets a moment before it can be reaped: give
    // it that moment, so a dead VM is reported as such, not as a lost link.
    auto w = run->vm->wait_exit(std::chrono::milliseconds(500));
    if (w && *w) alive = false;
  }
  std::string tail = run && run->vm ? run->vm->console_tail(15) : "";
  if (run) {
    drop_locked(rec.name, *run);
    if (run->vm) (void)run->vm->kill();
    std::lock_guard l(mu_);
    running_.erase(rec.name);
  }
  mark_failed_locked(
      rec, console_error(alive ? "lost contact with the guest agent" : "the VM exited unexpectedly",
                         tail));
  log_.warn("sandbox " + rec.name + ": " + rec.last_error);
}

Result<std::vector<proto::SandboxInfo>> SandboxManager::list() {
  auto recs = store_->list();
  if (!recs) return recs.error();
  std::vector<proto::SandboxInfo> out;
  for (auto& r : *recs) {
    auto m = lock_for(r.name);
    std::unique_lock l(*m, std::try_to_lock);
    // A sandbox busy starting or stopping is reported as stored.
    if (l.owns_lock()) refresh_locked(r);
    out.push_back(to_info(r));
  }
  return out;
}

Result<proto::SandboxInfo> SandboxManager::get(const std::string& name) {
  auto m = lock_for(name);
  std::unique_lock l(*m, std::try_to_lock);
  auto rec = load(name);
  if (!rec) return rec.error();
  if (l.owns_lock()) refresh_locked(*rec);
  return to_info(*rec);
}

Result<proto::SandboxInfo> SandboxManager::start(const std::string& name) {
  auto m = lock_for(name);
  std::lock_guard l(*m);
  auto rec = load_current_locked(name);
  if (!rec) return rec.error();
  if (rec->status != Status::kRunning) {
    auto r = start_locked(*rec);
    if (!r) return r.error();
  }
  return to_info(*rec);
}

void SandboxManager::provision_pending_locked(const SandboxRecord& rec) {
  std::string path = SandboxPaths(cfg_.paths, rec.name).pending_provision;
  if (!on_created_ || !path_exists(path)) return;
  auto text = read_file(path);
  auto req = text ? proto::parse_create_request(*text) : Result<proto::CreateRequest>(text.error());
  // Once only, whatever happens: a guest that cannot be provisioned is
  // warned about, never retried at every start.
  (void)::unlink(path.c_str());
  if (!req) {
    log_.warn("sandbox " + rec.name + ": pending provisioning: " + req.error().message);
    return;
  }
  if (auto run = running(rec.name); run && run->link)
    on_created_(to_info(rec), *req, run->link, nullptr);
}

Result<void> SandboxManager::start_locked(SandboxRecord& rec) {
  if (!is_directory(rec.workspace))
    return err(kBadRequest, "workspace '" + rec.workspace +
                                "' no longer exists; recreate it or remove the sandbox");
  bool starting = false;
  Launcher::BootHooks hooks;
  hooks.starting = [&] {
    starting = true;
    rec.status = Status::kStarting;
    rec.last_error.clear();
    (void)save(rec);
  };
  hooks.started = [&](int64_t pid, int64_t virtiofsd_pid) {
    rec.qemu_pid = pid;
    rec.virtiofsd_pid = virtiofsd_pid;
    (void)save(rec);
  };
  auto guest = launcher_->boot(rec, hooks);
  if (!guest) {
    if (!starting) return guest.error();  // nothing was started, nothing changed
    mark_failed_locked(rec, guest.error().message);
    return err(rec.last_error);
  }
  mark_running_locked(rec, std::move(*guest));
  log_.info("sandbox " + rec.name + " is running (qemu pid " + std::to_string(rec.qemu_pid) + ")");
  provision_pending_locked(rec);
  return ok();
}

Result<proto::SandboxInfo> SandboxManager::stop(const std::string& name) {
  auto m = lock_for(name);
  std::lock_guard l(*m);
  auto rec = load_current_locked(name);
  if (!rec) return rec.error();
  if (is_active(rec->status)) {
    auto r = stop_locked(*rec, /*graceful=*/true);
    if (!r) return r.error();
  }
  return to_info(*rec);
}

Result<void> SandboxManager::stop_locked(SandboxRecord& rec, bool graceful) {
  auto run = running(rec.name);
  rec.status = Status::kStopping;
  (void)save(rec);
  if (run) {
    run->ports.clear();  // no new connections into a VM that is going away
    bool exited = false;
    if (graceful && run->link && run->link->connected()) {
      // The agent syncs and unmounts, then reboots; -no-reboot ends QEMU.
      auto r = run->link->control("shutdown", 10s);
      if (r) {
        auto w = run->vm->wait_exit(20s);
        exited = w && *w;
      } else {
        log_.warn("sandbox " + rec.name + ": graceful shutdown failed: " + r.error().message);
      }
    }
    drop_locked(rec.name, *run);
    if (!exited) {
      auto k = run->vm->kill();
      if (!k) return k.error().wrap("stop sandbox '" + rec.name + "'");
    }
    std::lock_guard l(mu_);
    running_.erase(rec.name);
  }
  rec.status = Status::kStopped;
  rec.qemu_pid = rec.virtiofsd_pid = 0;
  (void)save(rec);
  launcher_->release(rec.name);
  log_.info("sandbox " + rec.name + " stopped");
  return ok();
}

Result<void> SandboxManager::remove(const std::string& name, bool force) {
  auto m = lock_for(name);
  std::lock_guard l(*m);
  auto rec = load_current_locked(name);
  if (!rec) return rec.error();
  if (is_active(rec->status)) {
    if (!force)
      return err(kConflict, "sandbox '" + name + "' is running; stop it first with 'sbx stop " +
                                name + "', or use 'sbx rm -f " + name + "'");
    auto s = stop_locked(*rec, /*graceful=*/false);
    if (!s) return s.error();
  }
  if (auto r = launcher_->remove(name); !r) return r.error();
  if (auto r = store_->remove(name); !r) return r.error();
  if (on_removed_) on_removed_(name);
  log_.info("removed sandbox " + name);
  return ok();
}

Result<std::shared_ptr<GuestChannel>> SandboxManager::exec(const std::string& name,
                                                           proto::ExecRequest req) {
  std::shared_ptr<Running> run;
  SandboxRecord rec;
  {
    auto m = lock_for(name);
    std::lock_guard l(*m);
    auto r = load_current_locked(name);
    if (!r) return r.error();
    rec = std::move(*r);
    if (rec.status != Status::kRunning) {
      auto s = start_locked(rec);
      if (!s) return s.error();
    }
    run = running(name);
  }
  if (!run || !run->link) return err("sandbox '" + name + "' is not running");
  if (exec_env_) {
    auto extra = exec_env_(name);
    req.env.insert(req.env.begin(), extra.begin(), extra.end());
  }
  // A loaded image's User, WorkingDir and Env; a template in use cannot be
  // removed, so it is there (else the sandbox's own defaults apply).
  auto tmpl = image::find_template_meta(image::templates_dir(cfg_.paths.cache), rec.template_id);
  apply_exec_defaults(req, rec.user, rec.workspace, tmpl ? &*tmpl : nullptr);
  return run->link->open_exec(req, 30s);
}

void SandboxManager::recover() {
  auto recs = store_->list();
  if (!recs) {
    log_.error("recover: " + recs.error().message);
    return;
  }
  for (auto& rec : *recs) {
    if (!is_active(rec.status)) continue;
    auto m = lock_for(rec.name);
    std::lock_guard l(*m);
    auto guest = launcher_->adopt(rec);
    if (guest) {
      mark_running_locked(rec, std::move(*guest));
      log_.info("re-adopted running sandbox " + rec.name);
      continue;
    }
    log_.warn("sandbox " + rec.name + ": " + guest.error().message);
    mark_failed_locked(rec, "the VM was gone when sandboxd restarted");
  }
}

void SandboxManager::mark_running_locked(SandboxRecord& rec, LiveGuest guest) {
  auto run = std::make_shared<Running>();
  run->vm = std::move(guest.vm);
  run->link = std::move(guest.link);
  {
    std::lock_guard l(mu_);
    running_[rec.name] = run;
  }
  rec.status = Status::kRunning;
  // Egress first: the guest may connect out as soon as it runs.
  if (on_link_up_ && run->link) on_link_up_(rec.name, rec.deny_network, run->link);
  open_ports_locked(rec, *run);
  (void)save(rec);
}

void SandboxManager::open_ports_locked(SandboxRecord& rec, Running& run) {
  auto ports = port_table_.of(rec.name);
  if (!ports) {
    log_.error("ports of " + rec.name + ": " + ports.error().message);
    return;
  }
  for (auto& p : *ports) {
    auto pub = PortPublisher::bind(p, log_);
    if (!pub) {
      std::string msg = "cannot publish " + proto::format_port(p) + ": " + pub.error().message;
      log_.warn("sandbox " + rec.name + ": " + msg);
      rec.last_error = msg;
      continue;
    }
    (*pub)->serve(run.link);
    run.ports.push_back(std::move(*pub));
  }
}

Result<std::vector<proto::PortMapping>> SandboxManager::ports(const std::string& name) {
  auto rec = load(name);
  if (!rec) return rec.error();
  return port_table_.of(name);
}

Result<proto::PortMapping> SandboxManager::publish(const std::string& name, proto::PortMapping m) {
  auto lk = lock_for(name);
  std::lock_guard l(*lk);
  auto rec = load_current_locked(name);
  if (!rec) return rec.error();
  return publish_locked(*rec, std::move(m));
}

Result<proto::PortMapping> SandboxManager::publish_locked(SandboxRecord& rec,
                                                          proto::PortMapping m) {
  // A stopped sandbox keeps the reservation only; its listener opens when
  // it starts.
  auto pub = port_table_.reserve(rec.name, std::move(m));
  if (!pub) return pub.error();
  proto::PortMapping bound = (*pub)->mapping();
  auto run = rec.status == Status::kRunning ? running(rec.name) : nullptr;
  if (run && run->link) {
    (*pub)->serve(run->link);
    run->ports.push_back(std::move(*pub));
  }
  return bound;
}

Result<std::vector<proto::PortMapping>> SandboxManager::unpublish(const std::string& name,
                                                                  const proto::PortMapping& m) {
  auto lk = lock_for(name);
  std::lock_guard l(*lk);
  auto rec = load(name);
  if (!rec) return rec.error();
  auto removed = port_table_.release(name, m);
  if (!removed) return removed.error();
  if (auto run = running(name)) {
    auto& pubs = run->ports;
    for (auto& r : *removed) {
      pubs.erase(std::remove_if(pubs.begin(), pubs.end(),
                                [&](const std::unique_ptr<PortPublisher>& p) {
                                  return p->mapping().host_ip == r.host_ip &&
                                         p->mapping().host_port == r.host_port;
                                }),
                 pubs.end());
    }
  }
  return removed;
}

Result<std::string> SandboxManager::docker_state(const std::string& name) {
  std::shared_ptr<Running> run;
  {
    auto m = lock_for(name);
    std::lock_guard l(*m);
    auto rec = load_current_locked(name);
    if (!rec) return rec.error();
    if (rec->status != Status::kRunning)
      return err(kConflict, "sandbox '" + name + "' is not running");
    run = running(name);
  }
  if (!run || !run->link) return err(kConflict, "sandbox '" + name + "' is not running");
  auto r = run->link->control("docker", 10s);
  if (!r) return r.error();
  if (!r->ok) return err("docker state: " + r->error);
  return r->body;
}

Result<std::vector<std::string>> SandboxManager::reset() {
  auto recs = store_->list();
  if (!recs) return recs.error();
  std::vector<std::string> removed;
  for (auto& r : *recs) {
    auto x = remove(r.name, /*force=*/true);
    if (!x) return x.error().wrap("reset");
    removed.push_back(r.name);
  }
  return removed;
}

Result<proto::PruneResult> SandboxManager::prune(bool dry_run) {
  proto::PruneResult out;
  out.dry_run = dry_run;
  auto recs = store_->list();
  if (!recs) return recs.error();
  std::set<std::string> templates_in_use;
  for (auto& r : *recs) {
    auto m = lock_for(r.name);
    std::lock_guard l(*m);
    refresh_locked(r);
    if (is_active(r.status)) {
      templates_in_use.insert(r.template_id);
      continue;
    }
    out.sandboxes.push_back(r.name);
    out.bytes += launcher_->disk_usage(r.name);
  }
  if (!dry_run) {
    for (auto& n : out.sandboxes) {
      auto x = remove(n, /*force=*/false);
      if (!x) return x.error().wrap("prune");
    }
  }
  // Cached templates that no remaining sandbox is layered on. The one the
  // daemon currently builds new sandboxes from stays.
  templates_in_use.insert(launcher_->current_template());
  auto t = image::prune_templates(cfg_.paths.cache, templates_in_use, dry_run);
  out.artifacts = std::move(t.paths);
  out.bytes += t.bytes;
  return out;
}

void SandboxManager::detach_all() {
  std::map<std::string, std::shared_ptr<Running>> all;
  {
    std::lock_guard l(mu_);
    all.swap(running_);
  }
  for (auto& [name, run] : all) {
    if (run->link) run->link->close();
    if (on_link_down_) on_link_down_(name);
  }
}

}  // namespace sbx::daemon
