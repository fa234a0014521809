#include "daemon/sandbox_manager.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <filesystem>
#include <set>
#include <unistd.h>

#include <ctime>
#include <fstream>
#include <thread>

#include "base/files.h"
#include "base/strings.h"
#include "daemon/port_publisher.h"
#include "image/disk_overlay.h"
#include "image/initramfs.h"
#include "image/kernel.h"
#include "image/template_builder.h"
#include "vm/accel.h"
#include "vm/jail.h"
#include "vm/tsc.h"
#include "vm/vm_config.h"
#include "vm/vm_process.h"

namespace sbx::daemon {

using namespace std::chrono_literals;

struct SandboxManager::Running {
  std::unique_ptr<vm::VmProcess> vm;
  std::shared_ptr<AgentLink> link;
  std::vector<std::unique_ptr<PortPublisher>> ports;
};

HostFacts HostFacts::probe() {
  HostFacts h;
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  h.memory_bytes = pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page)
                                         : 1ull << 30;
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  h.cores = n > 0 ? static_cast<int>(n) : 1;
  return h;
}

uint64_t default_memory(const HostFacts& h) {
  uint64_t half = h.memory_bytes / 2;
  return std::clamp<uint64_t>(half, 512ull << 20, 32ull << 30);
}

uint64_t max_memory(const HostFacts& h) {
  return std::max<uint64_t>(h.memory_bytes / 4 * 3, 512ull << 20);
}

std::string cmdline_escape(std::string_view path) {
  // The agent decodes %XX; '/' stays readable in console logs.
  return percent_encode(path, "/+,");
}

namespace {

std::string now_rfc3339() {
  time_t t = time(nullptr);
  tm g;
  gmtime_r(&t, &g);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &g);
  return buf;
}

bool is_active(const std::string& status) {
  return status == "running" || status == "starting" || status == "stopping";
}

Error not_found(const std::string& name) {
  return err(kNotFound, "sandbox '" + name + "' not found. Run 'sbx ls' to see your sandboxes.");
}

// Refuses to start work that would fill the disk: a sandbox needs room for
// its overlay to grow and the host must keep working.
Result<void> check_free_space(const std::string& dir, uint64_t need) {
  struct statvfs s;
  if (statvfs(dir.c_str(), &s) != 0) return ok();  // unknown: don't block
  uint64_t avail = static_cast<uint64_t>(s.f_bavail) * s.f_frsize;
  if (avail < need)
    return err(kInsufficientStorage, "not enough free disk space in " + dir + ": " +
                                         format_size(avail) + " available, at least " +
                                         format_size(need) + " needed");
  return ok();
}

}  // namespace

SandboxManager::SandboxManager(DaemonConfig cfg, std::unique_ptr<Store> store, Logger& log)
    : cfg_(std::move(cfg)), store_(std::move(store)), log_(log), host_(HostFacts::probe()) {}

SandboxManager::~SandboxManager() { detach_all(); }

std::shared_ptr<std::mutex> SandboxManager::lock_for(const std::string& name) {
  std::lock_guard l(mu_);
  auto& m = locks_[name];
  if (!m) m = std::make_shared<std::mutex>();
  return m;
}

std::string SandboxManager::sandbox_dir(const std::string& name) const {
  return cfg_.paths.sandboxes_dir() + "/" + name;
}

std::string SandboxManager::runtime_dir(const std::string& name) const {
  return cfg_.paths.runtime + "/vms/" + name;
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
  s.status = rec.status;
  s.workspace = rec.workspace;
  s.memory_bytes = rec.memory_bytes;
  s.cpus = rec.cpus;
  s.disk_bytes = rec.disk_bytes;
  s.template_id = rec.template_id;
  s.created_at = rec.created_at;
  s.error = rec.last_error;
  s.deny_network = rec.deny_network;
  if (auto p = store_->ports(rec.name); p) s.ports = std::move(*p);
  return s;
}

Result<SandboxManager::Artifacts> SandboxManager::prepare_artifacts() {
  std::lock_guard l(artifacts_mu_);
  if (artifacts_) return *artifacts_;
  auto progress = [this](const std::string& m) { log_.info(m); };
  const std::string& cache = cfg_.paths.cache;
  auto kernel = image::ensure_kernel(cache, progress);
  if (!kernel) return kernel.error().wrap("prepare guest kernel");
  auto initrd = image::ensure_initramfs(cache, *kernel, cfg_.agent_binary,
                                        image::default_guest_modules(), progress);
  if (!initrd) return initrd.error().wrap("prepare initramfs");
  auto tmpl = image::ensure_shell_template(cache, progress);
  if (!tmpl) return tmpl.error().wrap("prepare template 'shell'");
  auto tsc = vm::host_tsc_khz();
  if (!tsc) return tsc.error().wrap("measure host TSC frequency");
  tsc_khz_ = *tsc;
  artifacts_ = Artifacts{kernel->vmlinux, *initrd, tmpl->image, tmpl->id};
  return *artifacts_;
}

Result<proto::SandboxInfo> SandboxManager::create(const proto::CreateRequest& in) {
  proto::CreateRequest req = in;
  if (req.agent.empty()) req.agent = "shell";
  if (req.agent != "shell")
    return err(kBadRequest, "unknown agent '" + req.agent + "'; available: shell");
  if (req.workspace.empty() || req.workspace[0] != '/')
    return err(kBadRequest, "workspace path must be absolute: '" + req.workspace + "'");
  if (!path_exists(req.workspace))
    return err(kBadRequest, "workspace path '" + req.workspace + "' does not exist");
  if (!is_directory(req.workspace))
    return err(kBadRequest, "workspace path '" + req.workspace + "' is not a directory");
  auto abs = absolute_path(req.workspace);
  if (!abs) return abs.error();
  req.workspace = *abs;
  if (req.name.empty()) req.name = proto::default_sandbox_name(req.agent, req.workspace);
  if (auto v = proto::validate_sandbox_name(req.name); !v) return err(kBadRequest, v.error().message);

  uint64_t mem = req.memory_bytes ? req.memory_bytes : default_memory(host_);
  if (mem < (256ull << 20))
    return err(kBadRequest, "memory " + format_size(mem) + " is too small: use at least 256m");
  if (mem > max_memory(host_))
    return err(kBadRequest, "memory " + format_size(mem) + " exceeds the maximum of " +
                                format_size(max_memory(host_)) + " on this host");
  int cpus = req.cpus ? req.cpus : host_.cores;
  if (cpus < 1 || cpus > host_.cores)
    return err(kBadRequest, "--cpus " + std::to_string(cpus) + " is out of range: this host has " +
                                std::to_string(host_.cores) + " cores");

  std::lock_guard cl(create_mu_);
  auto existing = store_->get(req.name);
  if (!existing) return existing.error();
  if (existing->has_value())
    return err(kConflict, "a sandbox named '" + req.name +
                              "' already exists; choose another name with --name, or remove it "
                              "with 'sbx rm " + req.name + "'");
  auto space = check_free_space(cfg_.paths.state, 1ull << 30);
  if (!space) return space.error();
  auto art = prepare_artifacts();
  if (!art) return art.error();

  std::string dir = sandbox_dir(req.name);
  (void)remove_tree(dir);  // leftovers of a crash mid-create hold nothing of value
  if (auto r = make_dirs(dir, 0700); !r) return r.error();
  auto ov = image::create_overlay(art->template_image, dir + "/disk.qcow2", cfg_.disk_bytes);
  if (!ov) {
    (void)remove_tree(dir);
    return ov.error().wrap("create disk");
  }
  uint64_t docker_bytes = req.docker_bytes ? req.docker_bytes : cfg_.docker_bytes;
  if (docker_bytes < (1ull << 30)) {
    (void)remove_tree(dir);
    return err(kBadRequest, "--docker-size " + format_size(docker_bytes) + " is too small: use at least 1g");
  }
  // Sparse: it costs what dockerd writes, not its size.
  if (::truncate((dir + "/docker.img").c_str(), 0) != 0) {
    Fd f(::open((dir + "/docker.img").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
    if (!f || ::ftruncate(f.get(), static_cast<off_t>(docker_bytes)) != 0) {
      (void)remove_tree(dir);
      return errno_error("create docker volume");
    }
  }
  for (auto& p : req.ports) {
    if (p.sandbox_port == 0) {
      (void)remove_tree(dir);
      return err(kBadRequest, "a published port needs a sandbox port");
    }
  }
  SandboxRecord rec;
  rec.docker_bytes = docker_bytes;
  rec.name = req.name;
  rec.agent = req.agent;
  rec.workspace = req.workspace;
  rec.memory_bytes = mem;
  rec.cpus = cpus;
  rec.disk_bytes = cfg_.disk_bytes;
  rec.template_id = art->template_id;
  // A host user's files keep their owner: the guest's `agent` takes the
  // host uid. As root, the session is root too (uid 0 cannot be shared).
  rec.user = getuid() == 0 ? "root" : "agent";
  rec.created_at = now_rfc3339();
  rec.status = "stopped";
  rec.deny_network = req.deny_network;
  if (auto r = store_->insert(rec); !r) {
    (void)remove_tree(dir);
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
    return *s;
  }
  return to_info(rec);
}

void SandboxManager::refresh_locked(SandboxRecord& rec) {
  if (!is_active(rec.status)) return;
  std::shared_ptr<Running> run;
  {
    std::lock_guard l(mu_);
    auto it = running_.find(rec.name);
    if (it != running_.end()) run = it->second;
  }
  bool alive = run && run->vm && run->vm->alive();
  if (alive && run->link && run->link->connected()) return;
  std::string tail = run && run->vm ? run->vm->console_tail(15) : "";
  if (run) {
    if (run->link) run->link->close();
    if (on_link_down_) on_link_down_(rec.name);
    if (run->vm) (void)run->vm->kill();
    std::lock_guard l(mu_);
    running_.erase(rec.name);
  }
  rec.status = "failed";
  rec.last_error = alive ? "lost contact with the guest agent" : "the VM exited unexpectedly";
  if (!tail.empty()) rec.last_error += "; console tail:\n" + tail;
  rec.qemu_pid = rec.virtiofsd_pid = 0;
  (void)save(rec);
  (void)remove_tree(runtime_dir(rec.name));
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
  if (rec->status != "running") {
    auto r = start_locked(*rec);
    if (!r) return r.error();
  }
  return to_info(*rec);
}

Result<void> SandboxManager::start_locked(SandboxRecord& rec) {
  if (!is_directory(rec.workspace))
    return err(kBadRequest, "workspace '" + rec.workspace +
                                "' no longer exists; recreate it or remove the sandbox");
  std::string disk = sandbox_dir(rec.name) + "/disk.qcow2";
  if (!path_exists(disk))
    return err("the disk of sandbox '" + rec.name + "' is missing (" + disk +
               "); remove the sandbox with 'sbx rm " + rec.name + "' and create it again");
  auto art = prepare_artifacts();
  if (!art) return art.error();
  auto accel_req = vm::choose_accel(cfg_.accel, vm::probe_host());
  if (!accel_req) return accel_req.error();

  std::string rt = runtime_dir(rec.name);
  (void)remove_tree(rt);
  if (auto r = make_dirs(rt, 0700); !r) return r.error();

  vm::VmConfig vc;
  vc.name = "sbx-" + rec.name;
  vc.accel = *accel_req;
  vc.cpus = rec.cpus;
  vc.memory_mib = rec.memory_bytes >> 20;
  vc.kernel = art->kernel;
  vc.initrd = art->initrd;
  vc.tsc_khz = tsc_khz_;
  vc.disk = disk;
  if (path_exists(sandbox_dir(rec.name) + "/docker.img")) vc.data_disk = sandbox_dir(rec.name) + "/docker.img";
  vc.agent_socket = rt + "/agent.sock";
  vc.qmp_socket = rt + "/qmp.sock";
  vc.pid_file = rt + "/qemu.pid";
  vc.console_log = sandbox_dir(rec.name) + "/console.log";
  vm::Workspace ws;
  ws.host_path = rec.workspace;
  ws.fs = cfg_.workspace_fs == "virtiofs" ? vm::Workspace::Fs::kVirtiofs : vm::Workspace::Fs::k9p;
  ws.virtiofsd_socket = rt + "/virtiofs.sock";
  vc.workspace = ws;
  vc.cmdline = "sbx.name=" + rec.name + " sbx.root=/dev/vda sbx.ws_path=" +
               cmdline_escape(rec.workspace) + " sbx.ws_tag=" + ws.tag + " sbx.ws_fs=" +
               (ws.fs == vm::Workspace::Fs::kVirtiofs ? "virtiofs" : "9p") +
               " sbx.uid=" + std::to_string(getuid()) + " sbx.gid=" + std::to_string(getgid());
  if (!vc.data_disk.empty()) vc.cmdline += " sbx.docker_disk=/dev/vdb";
  // A fresh console log per boot keeps the tail we report about this boot.
  (void)::truncate(vc.console_log.c_str(), 0);

  rec.status = "starting";
  rec.last_error.clear();
  (void)save(rec);
  log_.info("starting sandbox " + rec.name + " (" + std::string(vm::accel_name(vc.accel)) + ", " +
            std::to_string(vc.cpus) + " vCPU, " + std::to_string(vc.memory_mib) + " MiB)");

  auto fail = [&](const Error& e, const std::string& tail) -> Result<void> {
    rec.status = "failed";
    rec.last_error = e.message + (tail.empty() ? "" : "; console tail:\n" + tail);
    rec.qemu_pid = rec.virtiofsd_pid = 0;
    (void)save(rec);
    (void)remove_tree(rt);
    return err(rec.last_error);
  };

  vm::JailOptions jail;
  if (::geteuid() == 0) {
    // As root we can also take the network and the mount table away from
    // QEMU: it needs neither (all I/O goes through sandboxd's sockets).
    jail.private_network_namespace = true;
    jail.private_mount_namespace = true;
  }
  // Under TCG a kernel very rarely stops before init (seen once in about
  // 140 boots under heavy load: nothing after the PCI probe, for good). The
  // agent writes its first console line as soon as it runs, so a boot that
  // stays silent for silent_boot_timeout is restarted once instead of being
  // waited on for the whole boot timeout.
  constexpr int kBootAttempts = 2;
  std::shared_ptr<Running> run;
  Result<std::shared_ptr<AgentLink>> link = err("not booted");
  for (int attempt = 1;; ++attempt) {
    auto vmp = vm::VmProcess::start(vc, log_, jail);
    if (!vmp) return fail(vmp.error().wrap("start QEMU"), "");
    run = std::make_shared<Running>();
    run->vm = std::make_unique<vm::VmProcess>(std::move(*vmp));
    rec.qemu_pid = run->vm->pid();
    rec.virtiofsd_pid = run->vm->virtiofsd_pid();
    (void)save(rec);

    auto* vmraw = run->vm.get();
    auto started = std::chrono::steady_clock::now();
    bool silent = false, spoke = false;
    auto alive = [&] {
      if (!vmraw->alive()) return false;
      if (attempt < kBootAttempts && !spoke &&
          std::chrono::steady_clock::now() - started > cfg_.silent_boot_timeout) {
        auto con = read_file(vc.console_log);
        spoke = con && con->find("sbx-agent:") != std::string::npos;
        if (!spoke) silent = true;
        return spoke;
      }
      return true;
    };
    link = AgentLink::connect(vc.agent_socket, cfg_.boot_timeout, alive, log_);
    if (link) break;
    std::string tail = run->vm->console_tail(20);
    (void)run->vm->kill();
    if (!silent) return fail(link.error().wrap("boot sandbox '" + rec.name + "'"), tail);
    log_.warn("sandbox " + rec.name + ": the kernel did not reach init within " +
              std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                 cfg_.silent_boot_timeout).count()) +
              " s (console: " + trim(tail) + "); booting again");
    (void)remove_tree(rt);
    if (auto r = make_dirs(rt, 0700); !r) return fail(r.error(), "");
    (void)::truncate(vc.console_log.c_str(), 0);
  }
  run->link = *link;
  mark_running_locked(rec, run);
  log_.info("sandbox " + rec.name + " is running (qemu pid " + std::to_string(rec.qemu_pid) + ")");
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
  std::shared_ptr<Running> run;
  {
    std::lock_guard l(mu_);
    auto it = running_.find(rec.name);
    if (it != running_.end()) run = it->second;
  }
  rec.status = "stopping";
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
    if (run->link) run->link->close();
    if (on_link_down_) on_link_down_(rec.name);
    if (!exited) {
      auto k = run->vm->kill();
      if (!k) return k.error().wrap("stop sandbox '" + rec.name + "'");
    }
    std::lock_guard l(mu_);
    running_.erase(rec.name);
  }
  rec.status = "stopped";
  rec.qemu_pid = rec.virtiofsd_pid = 0;
  (void)save(rec);
  (void)remove_tree(runtime_dir(rec.name));
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
  if (auto r = remove_tree(sandbox_dir(name)); !r) return r.error();
  (void)remove_tree(runtime_dir(name));
  if (auto r = store_->remove(name); !r) return r.error();
  if (on_removed_) on_removed_(name);
  log_.info("removed sandbox " + name);
  return ok();
}

Result<std::shared_ptr<GuestChannel>> SandboxManager::exec(const std::string& name,
                                                          proto::ExecRequest req,
                                                          int* fail_code) {
  std::shared_ptr<Running> run;
  SandboxRecord rec;
  {
    auto m = lock_for(name);
    std::lock_guard l(*m);
    auto r = load_current_locked(name);
    if (!r) return r.error();
    rec = std::move(*r);
    if (rec.status != "running") {
      auto s = start_locked(rec);
      if (!s) return s.error();
    }
    std::lock_guard ml(mu_);
    run = running_[name];
  }
  if (!run || !run->link) return err("sandbox '" + name + "' is not running");
  if (req.user.empty()) req.user = rec.user;
  if (req.cwd.empty()) req.cwd = rec.workspace;
  return run->link->open_exec(req, 30s, fail_code);
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
    std::string rt = runtime_dir(rec.name);
    vm::VmConfig vc;
    vc.agent_socket = rt + "/agent.sock";
    vc.qmp_socket = rt + "/qmp.sock";
    vc.pid_file = rt + "/qemu.pid";
    vc.console_log = sandbox_dir(rec.name) + "/console.log";
    auto vmp = vm::VmProcess::adopt(static_cast<pid_t>(rec.qemu_pid),
                                    static_cast<pid_t>(rec.virtiofsd_pid), vc);
    if (vmp) {
      auto run = std::make_shared<Running>();
      run->vm = std::make_unique<vm::VmProcess>(std::move(*vmp));
      auto* vmraw = run->vm.get();
      auto link = AgentLink::connect(vc.agent_socket, 30s, [vmraw] { return vmraw->alive(); }, log_);
      if (link) {
        run->link = *link;
        mark_running_locked(rec, run);
        log_.info("re-adopted running sandbox " + rec.name);
        continue;
      }
      log_.warn("sandbox " + rec.name + ": cannot reconnect: " + link.error().message);
      (void)run->vm->kill();
    }
    rec.status = "failed";
    rec.last_error = "the VM was gone when sandboxd restarted";
    rec.qemu_pid = rec.virtiofsd_pid = 0;
    (void)save(rec);
    (void)remove_tree(rt);
  }
}

void SandboxManager::mark_running_locked(SandboxRecord& rec, const std::shared_ptr<Running>& run) {
  {
    std::lock_guard l(mu_);
    running_[rec.name] = run;
  }
  rec.status = "running";
  // Egress first: the guest may connect out as soon as it runs.
  if (on_link_up_ && run->link) on_link_up_(rec.name, rec.deny_network, run->link);
  open_ports_locked(rec, *run);
  (void)save(rec);
}

void SandboxManager::open_ports_locked(SandboxRecord& rec, Running& run) {
  auto ports = store_->ports(rec.name);
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
  return store_->ports(name);
}

Result<proto::PortMapping> SandboxManager::publish(const std::string& name, proto::PortMapping m) {
  auto lk = lock_for(name);
  std::lock_guard l(*lk);
  auto rec = load_current_locked(name);
  if (!rec) return rec.error();
  return publish_locked(*rec, std::move(m));
}

Result<proto::PortMapping> SandboxManager::publish_locked(SandboxRecord& rec, proto::PortMapping m) {
  if (m.host_ip.empty()) m.host_ip = "127.0.0.1";
  if (m.host_port != 0) {
    auto owner = store_->port_owner(m.host_ip, m.host_port);
    if (!owner) return owner.error();
    if (owner->has_value())
      return err(kConflict, "host port " + m.host_ip + ":" + std::to_string(m.host_port) +
                                " is already published by sandbox '" + **owner + "'");
  }
  std::shared_ptr<Running> run;
  if (rec.status == "running") {
    std::lock_guard g(mu_);
    auto it = running_.find(rec.name);
    if (it != running_.end()) run = it->second;
  }
  // Binding proves the port is free (and picks one for host_port 0). A
  // stopped sandbox releases it again and binds it when it starts.
  for (int attempt = 0; attempt < 64; ++attempt) {
    auto pub = PortPublisher::bind(m, log_);
    if (!pub) return pub.error();
    proto::PortMapping bound = (*pub)->mapping();
    auto owner = store_->port_owner(bound.host_ip, bound.host_port);
    if (!owner) return owner.error();
    if (owner->has_value()) {
      // Reserved by a stopped sandbox: try the next free port.
      if (m.host_port != 0) return err(kConflict, "host port is reserved by sandbox '" + **owner + "'");
      continue;
    }
    if (auto r = store_->add_port(rec.name, bound); !r) return r.error();
    if (run && run->link) {
      (*pub)->serve(run->link);
      run->ports.push_back(std::move(*pub));
    }
    log_.info("sandbox " + rec.name + ": published " + proto::format_port(bound));
    return bound;
  }
  return err(kConflict, "no free host port found");
}

Result<std::vector<proto::PortMapping>> SandboxManager::unpublish(const std::string& name,
                                                                  const proto::PortMapping& m) {
  auto lk = lock_for(name);
  std::lock_guard l(*lk);
  auto rec = load(name);
  if (!rec) return rec.error();
  auto all = store_->ports(name);
  if (!all) return all.error();
  std::vector<proto::PortMapping> removed;
  for (auto& p : *all) {
    bool match = p.host_port == m.host_port && (m.host_ip.empty() || m.host_ip == p.host_ip) &&
                 (m.sandbox_port == 0 || m.sandbox_port == p.sandbox_port);
    if (!match) continue;
    if (auto r = store_->remove_port(name, p); !r) return r.error();
    removed.push_back(p);
  }
  if (removed.empty())
    return err(kNotFound, "sandbox '" + name + "' has no published port matching " +
                              (m.host_ip.empty() ? "" : m.host_ip + ":") + std::to_string(m.host_port) +
                              (m.sandbox_port ? ":" + std::to_string(m.sandbox_port) : "") +
                              "; see 'sbx ports " + name + "'");
  std::lock_guard g(mu_);
  if (auto it = running_.find(name); it != running_.end()) {
    auto& pubs = it->second->ports;
    for (auto& r : removed) {
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
    if (rec->status != "running")
      return err(kConflict, "sandbox '" + name + "' is not running");
    std::lock_guard g(mu_);
    run = running_[name];
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

namespace {
uint64_t tree_bytes(const std::string& path) {
  std::error_code ec;
  uint64_t total = 0;
  if (std::filesystem::is_regular_file(path, ec)) return std::filesystem::file_size(path, ec);
  for (auto it = std::filesystem::recursive_directory_iterator(path, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st;
    if (::lstat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode))
      total += static_cast<uint64_t>(st.st_blocks) * 512;  // real usage: images are sparse
  }
  return total;
}
}  // namespace

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
    out.bytes += tree_bytes(sandbox_dir(r.name));
  }
  if (!dry_run) {
    for (auto& n : out.sandboxes) {
      auto x = remove(n, /*force=*/false);
      if (!x) return x.error().wrap("prune");
    }
  }
  // Cached templates that no remaining sandbox is layered on. The one the
  // daemon currently builds new sandboxes from stays.
  std::string current;
  {
    std::lock_guard l(artifacts_mu_);
    if (artifacts_) current = artifacts_->template_id;
  }
  std::string tdir = cfg_.paths.cache + "/templates";
  if (auto names = list_dir(tdir); names) {
    for (auto& n : *names) {
      if (n.empty() || n[0] == '.') continue;  // builds in progress
      bool used = false;
      for (auto& id : templates_in_use)
        if (!id.empty() && n.find(id.substr(0, 16)) != std::string::npos) used = true;
      if (!current.empty() && n.find(current.substr(0, 16)) != std::string::npos) used = true;
      if (used) continue;
      out.artifacts.push_back(tdir + "/" + n);
      out.bytes += tree_bytes(tdir + "/" + n);
      if (!dry_run) (void)remove_tree(tdir + "/" + n);
    }
  }
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
