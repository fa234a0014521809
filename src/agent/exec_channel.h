// State of one exec channel on the agent link: the child, its streams, and
// the flow-control counters in both directions.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "base/fd.h"
#include "proto/frame.h"
#include "proto/messages.h"

namespace sbx::agent {

/// One running (non-detached) command bound to a channel id.
struct ExecChannel {
  uint32_t id = 0;
  pid_t pid = -1;  ///< also the process group id (the child ran setsid)
  bool tty = false;

  Fd stdin_fd;   ///< non-tty: child's stdin
  Fd stdout_fd;  ///< non-tty: child's stdout; reset at EOF
  Fd stderr_fd;  ///< non-tty: child's stderr; reset at EOF
  Fd pty;        ///< tty: master; kept until the channel is freed
  bool pty_eof = false;  ///< tty: EIO/EOF seen on the master (slave closed)
  bool pty_hup = false;  ///< tty: POLLHUP seen; stop writing input

  /// Host -> child bytes not yet written to the child.
  std::string in_buf;
  /// Host sent EOF: close stdin once in_buf drains.
  bool in_eof = false;
  /// The child's stdin is gone (EPIPE or closed after EOF): discard input.
  bool in_closed = false;
  /// Bytes the host has sent that we have not yet credited back.
  uint64_t in_outstanding = 0;

  /// Bytes of DATA/DATA_ERR we may still send before the host's next WINDOW.
  uint64_t out_credit = proto::kInitialWindow;

  bool exited = false;
  proto::ExitInfo exit;

  /// All output streams have reached EOF.
  bool output_done() const {
    return tty ? pty_eof : (!stdout_fd.valid() && !stderr_fd.valid());
  }
};

}  // namespace sbx::agent
