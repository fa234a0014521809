#include "daemon/sandbox_paths.h"

namespace sbx::daemon {

SandboxPaths::SandboxPaths(const Paths& paths, const std::string& name)
    : dir(paths.sandboxes_dir() + "/" + name),
      disk(dir + "/disk.qcow2"),
      docker_disk(dir + "/docker.img"),
      console_log(dir + "/console.log"),
      pending_provision(dir + "/provision-pending.json"),
      runtime(paths.runtime + "/vms/" + name),
      agent_socket(runtime + "/agent.sock"),
      qmp_socket(runtime + "/qmp.sock"),
      pid_file(runtime + "/qemu.pid"),
      virtiofs_socket(runtime + "/virtiofs.sock") {}

}  // namespace sbx::daemon
