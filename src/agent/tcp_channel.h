// A TCP channel: a socket inside the guest relayed as DATA frames with the
// same credit rules as an exec channel's stdin/stdout. Host-opened
// (published ports: the agent connects, with a deadline) or guest-opened
// (egress: the agent accepted the connection and waits for the host's
// OPEN_OK). EOF is a half-close; CLOSE ends it. See docs/protocol.md.
#pragma once

#include <memory>
#include <string>

#include "agent/channel.h"
#include "base/fd.h"
#include "proto/messages.h"

namespace sbx::agent {

/// One connection bound to a channel id.
class TcpChannel : public Channel {
 public:
  /// Starts connecting for the host's OPEN {"kind":"tcp"} on `id`. Returns
  /// null after sending OPEN_FAIL; OPEN_OK is sent once connected.
  static std::unique_ptr<TcpChannel> connect(uint32_t id, const proto::TcpConnectRequest& req,
                                             ChannelContext& ctx);
  /// A connection accepted on an egress listener: sends our OPEN with `req`
  /// on `id` (which has kGuestChannelBit) and waits for the host's answer.
  static std::unique_ptr<TcpChannel> egress(uint32_t id, Fd sock, const proto::EgressOpen& req,
                                            std::string label, ChannelContext& ctx);
  ~TcpChannel() override = default;

  void on_eof() override;
  void on_open_reply(bool ok) override;

  void add_poll_fds(PollSet& set, bool link_has_room) override;
  void on_ready(int slot, short events, short revents) override;
  /// Fails a connect (OPEN_FAIL) or an unanswered egress OPEN (CLOSE).
  int check_deadline(Clock::time_point now) override;
  /// Sends CLOSE once both directions are finished.
  void finish_if_done() override;

 private:
  TcpChannel(uint32_t id, ChannelContext& ctx, Fd sock, std::string label, bool egress,
             Clock::time_point deadline);

  bool accepts_input() const override { return !flow_.input_eof() && !wr_shut_; }
  void write_input() override;
  const char* input_name() const override { return "credit"; }
  /// The connect finished (or poll says so): OPEN_OK or OPEN_FAIL.
  void check_connected();
  void read_socket();
  /// Writes buffered host input; shuts our write side down after host EOF.
  void write_socket();

  Fd sock_;
  std::string label_;  ///< "host:port", for messages
  /// Guest-opened (egress): we sent OPEN and the host answers it.
  bool egress_ = false;
  /// Host-opened: connect() is in flight, OPEN_OK/OPEN_FAIL not yet sent.
  /// Egress: waiting for the host's OPEN_OK; the socket is not read yet.
  bool connecting_ = true;
  Clock::time_point deadline_;
  bool wr_shut_ = false;  ///< shutdown(SHUT_WR) has been done
  bool rd_eof_ = false;   ///< the socket reported EOF (and we sent EOF)
};

}  // namespace sbx::agent
