// Relays one exec between a CLI connection (upgraded to the frame protocol)
// and a guest channel, end-to-end credit preserved in both directions.
#pragma once

#include <memory>
#include <string>

#include "base/log.h"
#include "daemon/agent_link.h"

namespace sbx::daemon {

/// Runs until the command exits or either side goes away. `pending` holds
/// bytes the HTTP parser read past the request. If the client disconnects
/// first, the command is killed. `client_fd` stays the caller's; it is shut
/// down when this returns.
void bridge_exec(int client_fd, std::string pending, std::shared_ptr<GuestChannel> ch, Logger& log);

}  // namespace sbx::daemon
