#include "daemon/vm_launcher.h"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "base/files.h"
#include "base/strings.h"
#include "daemon/sandbox_paths.h"
#include "image/disk_overlay.h"
#include "image/initramfs.h"
#include "image/kernel.h"
#include "image/template_builder.h"
#include "image/template_cache.h"
#include "image/template_catalog.h"
#include "vm/jail.h"
#include "vm/tsc.h"
#include "vm/vm_process.h"

namespace sbx::daemon {

using namespace std::chrono_literals;

std::string cmdline_escape(std::string_view path) {
  // The agent decodes %XX; '/' stays readable in console logs.
  return percent_encode(path, "/+,");
}

namespace {

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

/// A QEMU process as a GuestVm.
class QemuGuest : public GuestVm {
 public:
  explicit QemuGuest(vm::VmProcess p) : p_(std::move(p)) {}
  bool alive() override { return p_.alive(); }
  Result<void> kill() override { return p_.kill(); }
  Result<bool> wait_exit(std::chrono::milliseconds t) override { return p_.wait_exit(t); }
  std::string console_tail(size_t lines) override { return p_.console_tail(lines); }
  int64_t pid() const override { return p_.pid(); }
  int64_t virtiofsd_pid() const override { return p_.virtiofsd_pid(); }

 private:
  vm::VmProcess p_;
};

Result<void> fresh_dir(const std::string& dir) {
  (void)remove_tree(dir);
  return make_dirs(dir, 0700);
}

}  // namespace

Result<VmLauncher::Artifacts> VmLauncher::prepare_artifacts(
    const std::function<void(const std::string&)>& report) {
  std::lock_guard l(artifacts_mu_);
  if (artifacts_) return *artifacts_;
  auto progress = [this, &report](const std::string& m) {
    log_.info(m);
    if (report) report(m);
  };
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
  artifacts_ = Artifacts{kernel->vmlinux, *initrd, tmpl->image, tmpl->id, *tsc};
  return *artifacts_;
}

std::string VmLauncher::current_template() {
  std::lock_guard l(artifacts_mu_);
  return artifacts_ ? artifacts_->template_id : "";
}

Result<std::string> VmLauncher::create(const std::string& name, uint64_t disk_bytes,
                                       uint64_t docker_bytes, const DiskSource& source) {
  if (auto space = check_free_space(cfg_.paths.state, 1ull << 30); !space) return space.error();
  auto art = prepare_artifacts(source.progress);
  if (!art) return art.error();
  // The disk's backing file: the base template, or a layer from the cache.
  std::string backing = art->template_image, backing_format = "raw", template_id = art->template_id;
  if (!source.template_tag.empty() && source.template_tag != "shell") {
    auto all = image::list_templates(image::templates_dir(cfg_.paths.cache));
    auto t = image::find_template(all, source.template_tag);
    if (!t) return t.error();
    backing = t->image_path();
    backing_format = t->meta.format;
    template_id = t->meta.id;
  }
  SandboxPaths p(cfg_.paths, name);
  (void)remove_tree(p.dir);  // leftovers of a crash mid-create hold nothing of value
  if (auto r = make_dirs(p.dir, 0700); !r) return r.error();
  auto ov = image::create_overlay(backing, p.disk, disk_bytes, backing_format);
  if (!ov) {
    (void)remove_tree(p.dir);
    return ov.error().wrap("create disk");
  }
  // Sparse: it costs what dockerd writes, not its size.
  if (::truncate(p.docker_disk.c_str(), 0) != 0) {
    Fd f(::open(p.docker_disk.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
    if (!f || ::ftruncate(f.get(), static_cast<off_t>(docker_bytes)) != 0) {
      Error e = errno_error("create docker volume");
      (void)remove_tree(p.dir);
      return e;
    }
  }
  return template_id;
}

Result<void> VmLauncher::remove(const std::string& name) {
  SandboxPaths p(cfg_.paths, name);
  if (auto r = remove_tree(p.dir); !r) return r.error();
  (void)remove_tree(p.runtime);
  return ok();
}

uint64_t VmLauncher::disk_usage(const std::string& name) {
  return image::disk_usage(SandboxPaths(cfg_.paths, name).dir);
}

void VmLauncher::release(const std::string& name) {
  (void)remove_tree(SandboxPaths(cfg_.paths, name).runtime);
}

vm::VmConfig VmLauncher::vm_config(const SandboxRecord& rec, const Artifacts& art,
                                   vm::Accel accel) const {
  SandboxPaths p(cfg_.paths, rec.name);
  vm::VmConfig vc;
  vc.name = "sbx-" + rec.name;
  vc.accel = accel;
  vc.cpus = rec.cpus;
  vc.memory_mib = rec.memory_bytes >> 20;
  vc.kernel = art.kernel;
  vc.initrd = art.initrd;
  vc.tsc_khz = art.tsc_khz;
  vc.disk = p.disk;
  if (path_exists(p.docker_disk)) vc.data_disk = p.docker_disk;
  vc.agent_socket = p.agent_socket;
  vc.qmp_socket = p.qmp_socket;
  vc.pid_file = p.pid_file;
  vc.console_log = p.console_log;
  vm::Workspace ws;
  ws.host_path = rec.workspace;
  ws.fs = cfg_.workspace_fs == "virtiofs" ? vm::Workspace::Fs::kVirtiofs : vm::Workspace::Fs::k9p;
  ws.virtiofsd_socket = p.virtiofs_socket;
  vc.workspace = ws;
  vc.cmdline = "sbx.name=" + rec.name +
               " sbx.root=/dev/vda sbx.ws_path=" + cmdline_escape(rec.workspace) +
               " sbx.ws_tag=" + ws.tag +
               " sbx.ws_fs=" + (ws.fs == vm::Workspace::Fs::kVirtiofs ? "virtiofs" : "9p") +
               " sbx.uid=" + std::to_string(getuid()) + " sbx.gid=" + std::to_string(getgid());
  if (!vc.data_disk.empty()) vc.cmdline += " sbx.docker_disk=/dev/vdb";
  return vc;
}

Result<LiveGuest> VmLauncher::boot(const SandboxRecord& rec, const BootHooks& hooks) {
  SandboxPaths paths(cfg_.paths, rec.name);
  if (!path_exists(paths.disk))
    return err("the disk of sandbox '" + rec.name + "' is missing (" + paths.disk +
               "); remove the sandbox with 'sbx rm " + rec.name + "' and create it again");
  auto art = prepare_artifacts();
  if (!art) return art.error();
  auto accel = vm::choose_accel(cfg_.accel, vm::probe_host());
  if (!accel) return accel.error();
  if (auto r = fresh_dir(paths.runtime); !r) return r.error();
  vm::VmConfig vc = vm_config(rec, *art, *accel);
  // A fresh console log per boot keeps the tail we report about this boot.
  (void)::truncate(vc.console_log.c_str(), 0);

  if (hooks.starting) hooks.starting();
  log_.info("starting sandbox " + rec.name + " (" + std::string(vm::accel_name(vc.accel)) + ", " +
            std::to_string(vc.cpus) + " vCPU, " + std::to_string(vc.memory_mib) + " MiB)");
  auto fail = [&](const Error& e, const std::string& tail) -> Error {
    (void)remove_tree(paths.runtime);
    return err(console_error(e.message, tail));
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
  for (int attempt = 1;; ++attempt) {
    auto vmp = vm::VmProcess::start(vc, log_, jail);
    if (!vmp) return fail(vmp.error().wrap("start QEMU"), "");
    auto guest = std::make_unique<QemuGuest>(std::move(*vmp));
    if (hooks.started) hooks.started(guest->pid(), guest->virtiofsd_pid());

    auto* raw = guest.get();
    auto started = std::chrono::steady_clock::now();
    bool silent = false, spoke = false;
    auto alive = [&] {
      if (!raw->alive()) return false;
      if (attempt < kBootAttempts && !spoke &&
          std::chrono::steady_clock::now() - started > cfg_.silent_boot_timeout) {
        auto con = read_file(vc.console_log);
        spoke = con && con->find("sbx-agent:") != std::string::npos;
        if (!spoke) silent = true;
        return spoke;
      }
      return true;
    };
    auto link = AgentLink::connect(vc.agent_socket, cfg_.boot_timeout, alive, log_);
    if (link) return LiveGuest{std::move(guest), *link};
    std::string tail = guest->console_tail(20);
    (void)guest->kill();
    if (!silent) return fail(link.error().wrap("boot sandbox '" + rec.name + "'"), tail);
    log_.warn(console_error("sandbox " + rec.name + ": the kernel did not reach init within " +
                                std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                                   cfg_.silent_boot_timeout)
                                                   .count()) +
                                " s (console: " + trim(tail) + "); booting again",
                            ""));
    if (auto r = fresh_dir(paths.runtime); !r) return fail(r.error(), "");
    (void)::truncate(vc.console_log.c_str(), 0);
  }
}

Result<LiveGuest> VmLauncher::adopt(const SandboxRecord& rec) {
  SandboxPaths paths(cfg_.paths, rec.name);
  vm::VmConfig vc;
  vc.agent_socket = paths.agent_socket;
  vc.qmp_socket = paths.qmp_socket;
  vc.pid_file = paths.pid_file;
  vc.console_log = paths.console_log;
  auto vmp = vm::VmProcess::adopt(static_cast<pid_t>(rec.qemu_pid),
                                  static_cast<pid_t>(rec.virtiofsd_pid), vc);
  if (!vmp) return vmp.error();
  auto guest = std::make_unique<QemuGuest>(std::move(*vmp));
  auto* raw = guest.get();
  auto link = AgentLink::connect(
      vc.agent_socket, 30s, [raw] { return raw->alive(); }, log_);
  if (!link) {
    (void)guest->kill();
    return link.error().wrap("cannot reconnect");
  }
  return LiveGuest{std::move(guest), *link};
}

}  // namespace sbx::daemon
