// After a sandbox's link is up at create, writes into the guest what the
// host hands it: the host's trusted CAs (so TLS through a corporate proxy
// works in the guest), the kit's files and the user's own agent settings
// (host_config). Each step is one root command
// over exec with its data on stdin; a step that fails is reported as a
// warning, never leaves the sandbox half-made.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/log.h"
#include "base/result.h"
#include "daemon/agent_link.h"
#include "daemon/host_ca.h"
#include "image/kernel.h"
#include "kit/kit.h"

namespace sbx::daemon {

/// Where the guest keeps the host's CAs, and what sessions get so Node
/// (which ignores the system store) trusts them too.
inline constexpr char kGuestHostCaDir[] = "/usr/local/share/ca-certificates/sbx-host";
inline constexpr char kGuestCaBundle[] = "/etc/ssl/certs/ca-certificates.crt";
inline constexpr char kNodeExtraCaEnv[] = "NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt";

class GuestProvisioner {
 public:
  GuestProvisioner(HostCaSources sources, Logger& log) : sources_(std::move(sources)), log_(log) {}

  /// The host's CA bundle as it is now (every distinct certificate).
  std::string host_bundle() const;

  /// Adds the certificates of `bundle` the guest does not trust yet to its
  /// store (update-ca-certificates) and points Node at the system bundle.
  /// Does nothing when the guest already has exactly this bundle.
  Result<void> install_cas(AgentLink& link, const std::string& bundle);
  /// Takes the host's CAs out of the guest again (a template build does,
  /// before its disk is saved as a layer the host's CAs must not live in).
  Result<void> remove_cas(AgentLink& link);
  /// Writes the kit's files: "~/" ones as `user` into that user's home
  /// (directories made on the way are the user's too), others as root.
  Result<void> write_files(AgentLink& link, const std::vector<kit::KitFile>& files,
                           const std::string& user);
  /// Copies the kit's host_config files from `host_home` into `user`'s home
  /// (`guest_home`, else the home the guest's passwd gives `user`): one tar
  /// stream, extracted by `user`, so the files are that user's. Files that
  /// look like they hold a token, and the others kit::select_host_config
  /// refuses, are not copied; each is reported to `skipped` with why.
  /// Returns how many files were copied.
  Result<size_t> copy_host_config(AgentLink& link, const std::vector<kit::HostConfig>& wanted,
                                  const std::string& host_home, const std::string& user,
                                  const std::function<void(const std::string&)>& skipped,
                                  const std::string& guest_home = "");

  /// The guest script install_cas runs (exposed for its unit test).
  static std::string install_script(const std::string& bundle_sha256);

 private:
  Result<std::string> run_root(AgentLink& link, const std::vector<std::string>& argv,
                               const std::string& input) {
    return run_as(link, "root", argv, input);
  }
  Result<std::string> run_as(AgentLink& link, const std::string& user,
                             const std::vector<std::string>& argv, const std::string& input);
  HostCaSources sources_;
  Logger& log_;
};

}  // namespace sbx::daemon
