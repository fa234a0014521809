#include "vm/qemu_command.h"

namespace sbx::vm {

std::string qemu_opt_escape(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    out += c;
    if (c == ',') out += ',';
  }
  return out;
}

std::string fuse_opt_escape(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == ',' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::vector<std::string> virtiofsd_argv(const VmConfig& cfg,
                                        const std::string& binary) {
  if (!cfg.workspace) return {};
  const Workspace& ws = *cfg.workspace;
  // --socket-path is a plain long option (no comma parsing); -o values go
  // through fuse_opt, which splits on unescaped commas.
  return {binary, "--socket-path=" + ws.virtiofsd_socket, "-o",
          "source=" + fuse_opt_escape(ws.host_path), "-o", "cache=auto",
          // No cached names or attributes: an editor's rename-over on the
          // host must be seen at once (the default 1 s gave stale reads).
          "-o", "timeout=0",
          // No device nodes on the host from the guest.
          "-o", "modcaps=-mknod"};
}

std::string kernel_cmdline(const VmConfig& cfg) {
  std::string s = "console=ttyS0 panic=-1 quiet";
  // microvm has no HPET or PM timer; PIT calibration hangs some TCG boots.
  if (cfg.tsc_khz > 0) s += " tsc_early_khz=" + std::to_string(cfg.tsc_khz);
  // Under TCG every vCPU reads the host's TSC, so they agree; but the
  // kernel's sync check sees emulation skew between vCPU threads, marks
  // the TSC unstable and falls back to jiffies: 4 ms clock resolution for
  // every timer and timestamp in the guest (measured). Not under KVM,
  // where kvm-clock is used and the host's TSC may really differ.
  if (cfg.accel == Accel::kTcg) s += " tsc=reliable";
  if (!cfg.cmdline.empty()) s += " " + cfg.cmdline;
  return s;
}

std::string cpu_model(const VmConfig& cfg) {
  if (!cfg.cpu_model.empty()) return cfg.cpu_model;
  // TCG: "max" boots as fast as the default qemu64 (measured) and gives the
  // guest x86-64-v2/v3 features (SSE4.2, POPCNT, AVX2) that prebuilt agent
  // binaries increasingly require; qemu64 lacks them. KVM: "host" is the
  // only sensible model on real hardware (it fails on this machine's nested
  // PVM KVM, which auto-detection does not pick).
  return cfg.accel == Accel::kKvm ? "host" : "max";
}

std::vector<std::string> qemu_argv(const VmConfig& cfg) {
  const bool virtiofs =
      cfg.workspace && cfg.workspace->fs == Workspace::Fs::kVirtiofs;
  std::vector<std::string> a;
  auto add = [&a](std::initializer_list<std::string> xs) {
    a.insert(a.end(), xs);
  };

  a.push_back(cfg.qemu_binary);
  if (!cfg.name.empty()) add({"-name", qemu_opt_escape(cfg.name)});
  std::string machine =
      "microvm,accel=" + std::string(accel_name(cfg.accel));
  // virtiofsd maps guest RAM, so it must live in a shared memfd.
  if (virtiofs) machine += ",memory-backend=mem";
  add({"-M", machine, "-cpu", cpu_model(cfg)});
  add({"-smp", std::to_string(cfg.cpus), "-m",
       std::to_string(cfg.memory_mib)});
  if (virtiofs)
    add({"-object", "memory-backend-memfd,id=mem,size=" +
                        std::to_string(cfg.memory_mib) + "M,share=on"});
  add({"-nodefaults", "-no-user-config", "-nographic", "-no-reboot"});
  // Modern (virtio 1.x) MMIO transport for every device: vhost-user-fs
  // requires it (legacy makes virtiofsd abort) and the guest kernel drives
  // blk/serial/9p equally well over it, so one transport for all configs.
  add({"-global", "virtio-mmio.force-legacy=false"});
  add({"-msg", "timestamp=on"});

  add({"-kernel", cfg.kernel});
  if (!cfg.initrd.empty()) add({"-initrd", cfg.initrd});
  add({"-append", kernel_cmdline(cfg)});

  add({"-chardev", "file,id=con,path=" + qemu_opt_escape(cfg.console_log),
       "-serial", "chardev:con"});

  if (!cfg.disk.empty()) {
    // cache=writeback: guest flushes are honoured (no data loss on a host
    // crash, unlike cache=unsafe), works on every host filesystem (O_DIRECT
    // cache=none fails on tmpfs), and the read-only template under every
    // overlay is cached once in the host page cache for all sandboxes.
    add({"-drive", "id=root,file=" + qemu_opt_escape(cfg.disk) +
                       ",format=qcow2,if=none,cache=writeback,"
                       "discard=unmap,detect-zeroes=unmap",
         "-device", "virtio-blk-device,drive=root,serial=sbx-root"});
  }
  if (!cfg.data_disk.empty()) {
    add({"-drive", "id=data,file=" + qemu_opt_escape(cfg.data_disk) +
                       ",format=raw,if=none,cache=writeback,"
                       "discard=unmap,detect-zeroes=unmap",
         "-device", "virtio-blk-device,drive=data,serial=sbx-data"});
  }

  if (cfg.workspace) {
    const Workspace& ws = *cfg.workspace;
    if (virtiofs) {
      add({"-chardev",
           "socket,id=vfs,path=" + qemu_opt_escape(ws.virtiofsd_socket),
           "-device",
           "vhost-user-fs-device,chardev=vfs,tag=" + qemu_opt_escape(ws.tag)});
    } else {
      add({"-fsdev",
           "local,id=ws,path=" + qemu_opt_escape(ws.host_path) +
               ",security_model=none",
           "-device",
           "virtio-9p-device,fsdev=ws,mount_tag=" + qemu_opt_escape(ws.tag)});
    }
  }

  add({"-device", "virtio-serial-device", "-chardev",
       "socket,id=agent,path=" + qemu_opt_escape(cfg.agent_socket) +
           ",server=on,wait=off",
       "-device", "virtserialport,chardev=agent,name=sbx.agent"});

  add({"-qmp", "unix:" + qemu_opt_escape(cfg.qmp_socket) +
                   ",server=on,wait=off"});
  if (!cfg.pid_file.empty()) add({"-pidfile", cfg.pid_file});
  if (cfg.seccomp)
    add({"-sandbox",
         "on,obsolete=deny,elevateprivileges=deny,spawn=deny,"
         "resourcecontrol=deny"});
  return a;
}

}  // namespace sbx::vm
