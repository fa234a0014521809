// The last layer the importer adds so a container image boots as a sandbox:
// mount points the guest agent (PID 1) moves its file systems onto, the
// `agent` user it runs sessions as (with sudo when the image has sudo),
// and the network files the agent expects (DNS on 127.0.0.1, hostname).
// Docker normally bind-mounts /etc/hosts and resolv.conf, so images carry
// none or stale ones.
#pragma once

#include <cstdint>
#include <string>

namespace sbx::image {

/// What the boot layer needs to know about the image.
struct BootLayerInput {
  std::string passwd;  ///< the image's /etc/passwd ("" if none)
  std::string group;   ///< the image's /etc/group ("" if none)
  bool has_sudo = false;
  std::string shell = "/bin/sh";  ///< login shell for `agent`
};

/// The `agent` account the boot layer gives the image.
struct AgentAccount {
  uint32_t uid = 1000;
  uint32_t gid = 1000;
  std::string passwd;  ///< the new /etc/passwd
  std::string group;   ///< the new /etc/group
};

/// Adds `agent` (uid/gid 1000 when free, else the next free id >= 1000)
/// to the image's user database, and to its sudo/wheel/docker groups; an
/// existing `agent` user is kept as it is.
AgentAccount add_agent_account(const BootLayerInput& in);

/// The boot layer as an uncompressed tar.
std::string boot_layer_tar(const BootLayerInput& in);

}  // namespace sbx::image
