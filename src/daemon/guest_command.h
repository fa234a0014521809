// Runs one command in a guest over an exec channel and waits for it: the
// daemon's own use of exec (provisioning files, template build steps), as
// opposed to a user's session, which the exec bridge relays.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "base/result.h"
#include "daemon/agent_link.h"

namespace sbx::daemon {

/// How a guest command ended.
struct GuestCommandResult {
  int exit_code = -1;  ///< the command's status (128+n for a signal)
  std::string output;  ///< stdout and stderr interleaved, its last `max_output` bytes
};

/// Called with each complete output line (without its newline) as it comes.
using OutputLineFn = std::function<void(const std::string& line)>;

/// Sends `input` as the command's stdin (then EOF), collects its output,
/// and returns once it exited. An error means the channel failed (the
/// guest went away), not that the command failed: check exit_code.
Result<GuestCommandResult> run_guest_command(const std::shared_ptr<GuestChannel>& ch,
                                             const std::string& input,
                                             const OutputLineFn& on_line = nullptr,
                                             size_t max_output = 64 * 1024);

}  // namespace sbx::daemon
