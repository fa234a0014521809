// Connections accepted on the egress listeners (forward proxy, transparent
// redirect target), and the OPEN {"kind":"egress"} that announces each to
// the host. The LinkServer turns them into guest-opened TcpChannels.
#pragma once

#include <optional>
#include <string>

#include "agent/console.h"
#include "base/fd.h"
#include "proto/messages.h"

namespace sbx::agent {

/// One accepted connection, described for the host.
struct EgressConnection {
  Fd sock;
  proto::EgressOpen request;
  std::string label;  ///< "egress forward" or "egress IP:PORT", for messages
};

/// The next pending connection on the non-blocking `listener`; nullopt when
/// none is pending (errors other than EAGAIN are logged).
std::optional<Fd> accept_pending(const Fd& listener, const Console& console);

/// Describes `sock`, accepted on the forward (`transparent` false) or the
/// transparent listener. Nullopt: the connection must just be closed (no
/// original destination, or one that is the listener itself and would loop).
std::optional<EgressConnection> describe_egress(Fd sock, bool transparent);

}  // namespace sbx::agent
