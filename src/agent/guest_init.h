// PID-1 duties in the guest: mount the early file systems, load modules,
// switch to the root disk, mount the workspace, prepare /dev, networking
// (loopback, and the egress interception), hostname and the agent user's uid, find the agent port;
// and the orderly shutdown. Only meaningful as PID 1 inside the VM.
#pragma once

#include <optional>
#include <string>

#include "agent/boot_config.h"
#include "agent/console.h"
#include "agent/docker_supervisor.h"
#include "base/fd.h"
#include "base/result.h"

namespace sbx::agent {

/// Boots the guest up to the point where the link can be served.
class GuestInit {
 public:
  explicit GuestInit(const Console& console) : console_(console) {}

  /// Runs every boot step and returns the opened agent port. An error means
  /// the guest cannot work (no root disk, no port): call fatal().
  Result<Fd> boot();
  /// SIGTERM everything, wait up to 3 s, SIGKILL, sync, unmount the
  /// workspace, remount / read-only and reboot (QEMU runs with -no-reboot,
  /// so this ends the VM). Never returns.
  [[noreturn]] void shutdown();
  /// After boot(): how to run the private dockerd, or nullopt when the
  /// template has none.
  const std::optional<DockerOptions>& docker() const { return docker_; }
  /// After boot(): the egress REDIRECT rules and the default route via sbx0
  /// are installed (see guest_network.h).
  bool egress_redirect() const { return egress_redirect_; }
  /// Prints `msg`, syncs and reboots so QEMU exits instead of hanging.
  [[noreturn]] void fatal(const std::string& msg);

 private:
  void mount_early();
  void load_modules();
  Result<void> mount_root();
  void mount_workspace();
  Result<void> switch_root();
  void setup_dev_and_run();
  void setup_network();
  void setup_hostname();
  void map_agent_uid();
  void prepare_docker();
  void unmount_docker();
  Result<Fd> open_agent_port();
  [[noreturn]] void power_off();

  const Console& console_;
  BootConfig cfg_;
  std::string ws_mountpoint_;  ///< in the final root; empty if none mounted
  std::optional<DockerOptions> docker_;
  bool docker_mounted_ = false;  ///< the docker disk is on /var/lib/docker
  bool egress_redirect_ = false;
};

}  // namespace sbx::agent
