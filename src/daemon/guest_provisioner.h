// After a sandbox's link is up at create, writes into the guest what the
// host hands it: the host's trusted CAs (so TLS through a corporate proxy
// works in the guest), and the kit's files. Each step is one root command
// over exec with its data on stdin; a step that fails is reported as a
// warning, never leaves the sandbox half-made.
#pragma once

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
  /// Writes the kit's files ("~/" is `user`'s home), owned by `user`.
  Result<void> write_files(AgentLink& link, const std::vector<kit::KitFile>& files,
                           const std::string& user);

  /// The guest script install_cas runs (exposed for its unit test).
  static std::string install_script(const std::string& bundle_sha256);

 private:
  Result<std::string> run_root(AgentLink& link, const std::vector<std::string>& argv,
                               const std::string& input);
  HostCaSources sources_;
  Logger& log_;
};

}  // namespace sbx::daemon
