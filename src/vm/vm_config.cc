#include "vm/vm_config.h"

namespace sbx::vm {

Result<void> VmConfig::validate() const {
  auto need = [](const std::string& v, const char* name) -> Result<void> {
    if (v.empty()) return err(std::string("vm config: ") + name + " is empty");
    return ok();
  };
  for (auto r : {need(qemu_binary, "qemu_binary"), need(kernel, "kernel"),
                 need(qmp_socket, "qmp_socket"),
                 need(agent_socket, "agent_socket"),
                 need(console_log, "console_log")})
    if (!r) return r;
  for (const std::string* p : {&kernel, &initrd, &disk, &agent_socket,
                                &qmp_socket, &console_log, &pid_file})
    if (!p->empty() && (*p)[0] != '/')
      return err("vm config: path must be absolute: '" + *p + "'");
  if (cpus < 1 || cpus > 255)
    return err("vm config: cpus must be 1..255, got " + std::to_string(cpus));
  if (memory_mib < 64)
    return err("vm config: memory must be at least 64 MiB, got " +
               std::to_string(memory_mib));
  if (workspace) {
    if (workspace->host_path.empty() || workspace->host_path[0] != '/')
      return err("vm config: workspace path must be absolute: '" +
                 workspace->host_path + "'");
    if (workspace->fs == Workspace::Fs::kVirtiofs &&
        !workspace->virtiofsd_socket.empty() &&
        workspace->virtiofsd_socket[0] != '/')
      return err("vm config: virtiofsd socket path must be absolute");
    if (workspace->tag.empty() || workspace->tag.size() > 31)
      return err("vm config: workspace tag must be 1..31 characters");
    if (workspace->fs == Workspace::Fs::kVirtiofs &&
        workspace->virtiofsd_socket.empty())
      return err("vm config: virtio-fs workspace needs a virtiofsd socket");
  }
  return ok();
}

std::string VmConfig::qemu_log() const {
  auto slash = console_log.rfind('/');
  if (slash == std::string::npos) return "qemu.log";
  return console_log.substr(0, slash + 1) + "qemu.log";
}

}  // namespace sbx::vm
