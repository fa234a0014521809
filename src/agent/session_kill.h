// Killing everything a channel started. The child leads its own session;
// an interactive shell moves its jobs into other process groups of that
// session, so killing only the leader's group would leave them running.
#pragma once

#include <sys/types.h>

#include <string_view>

namespace sbx::agent {

/// Session id from the text of /proc/PID/stat, or -1 if malformed. Pure.
pid_t session_from_stat(std::string_view stat);

/// Sends `sig` to the process group `sid` and to every process whose
/// session id is `sid` (found by scanning /proc). Returns how many
/// processes outside the group were signalled.
int kill_session(pid_t sid, int sig);

}  // namespace sbx::agent
