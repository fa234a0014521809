// State of one TCP channel on the agent link: a socket inside the guest
// relayed as DATA frames with the same credit rules as an exec channel's
// stdin/stdout. Host-opened (published ports: the agent connects) or
// guest-opened (egress: the agent accepted the connection).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "base/fd.h"
#include "proto/frame.h"

namespace sbx::agent {

/// One connection bound to a channel id.
struct TcpChannel {
  uint32_t id = 0;
  Fd sock;
  std::string label;  ///< "host:port", for messages
  /// Guest-opened (egress): we sent OPEN and the host answers it.
  bool egress = false;
  /// Host-opened: connect() is in flight, OPEN_OK/OPEN_FAIL not yet sent.
  /// Egress: waiting for the host's OPEN_OK; the socket is not read yet.
  bool connecting = true;
  std::chrono::steady_clock::time_point connect_deadline;

  /// Host -> socket bytes not yet written.
  std::string in_buf;
  /// The host sent EOF: shut down our write side once in_buf drains.
  bool in_eof = false;
  /// shutdown(SHUT_WR) has been done.
  bool wr_shut = false;
  /// Bytes the host has sent that we have not yet credited back.
  uint64_t in_outstanding = 0;

  /// Bytes of DATA we may still send before the host's next WINDOW.
  uint64_t out_credit = proto::kInitialWindow;
  /// The socket reported EOF (and we sent EOF to the host).
  bool rd_eof = false;

  /// Both directions are finished: the channel can be closed.
  bool done() const { return rd_eof && wr_shut; }
};

}  // namespace sbx::agent
