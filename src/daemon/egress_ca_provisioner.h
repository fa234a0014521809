// After a guest's link comes up, sandboxd provisions what the guest must
// have from the host: here, trust in the sbx egress CA (the system store,
// git, and the variables Node, Python, pip and OpenSSL read), so that TLS
// the proxy terminates for credential injection verifies inside the VM.
// The host's own CAs and kit files are guest_provisioner.h's job.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "daemon/agent_link.h"

namespace sbx::daemon {

/// Where the CA lands in the guest.
inline constexpr const char* kEgressCaGuestFile = "/usr/local/share/ca-certificates/sbx-egress-ca.crt";
/// The system bundle the CA is added to.
inline constexpr const char* kEgressCaGuestBundle = "/etc/ssl/certs/ca-certificates.crt";

/// Installs the sbx CA into guests.
class EgressCaProvisioner {
 public:
  explicit EgressCaProvisioner(std::string ca_pem,
                            std::chrono::milliseconds timeout = std::chrono::seconds(60))
      : ca_pem_(std::move(ca_pem)), timeout_(timeout) {}

  /// Runs the install script as root over `link` and waits for it (at most
  /// the timeout, then the command is killed). Idempotent: re-adopted VMs
  /// run it again.
  Result<void> provision(AgentLink& link) const;
  /// The shell script provision() runs (tests read it).
  std::string script() const;
  /// Variables every exec gets so programs that do not read the system
  /// store still trust the CA.
  static std::vector<std::string> exec_env();

 private:
  std::string ca_pem_;
  std::chrono::milliseconds timeout_;
};

}  // namespace sbx::daemon
