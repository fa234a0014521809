// The agent side of the agent link: one non-blocking poll() loop serving the
// framed protocol of proto/frame.h on one fd (the virtio-serial port, or a
// socket in test mode). The server keeps the link itself (handshake, frame
// decoding, output, hang-ups) and routes frames and poll events to the
// channels (ExecChannel, TcpChannel), the DNS relay and the egress
// listeners. See docs/protocol.md for the exact behaviour.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "agent/channel.h"
#include "agent/console.h"
#include "agent/dns_relay.h"
#include "agent/egress.h"
#include "agent/exec_spawner.h"
#include "agent/link_output.h"
#include "base/fd.h"
#include "base/result.h"
#include "proto/frame.h"

namespace sbx::agent {

class DockerSupervisor;

/// How the server treats its link and what it reports.
struct LinkOptions {
  /// true (test mode): EOF or an error on the link ends run() with kEof.
  /// false (PID 1): a host disconnect (POLLHUP) just waits for the next one.
  bool exit_on_eof = true;
  /// Reported in HELLO_ACK.
  bool pid1 = false;
  SpawnerConfig spawner;
  /// The private dockerd's supervisor (PID 1 or test mode with --dockerd);
  /// null when the sandbox has no Docker. Not owned.
  DockerSupervisor* docker = nullptr;
  /// Egress listeners (forward proxy, transparent, DNS stub), bound by
  /// open_egress(); invalid Fds are disabled. Owned by the server.
  EgressSockets egress;
};

/// Why run() returned.
enum class LinkExit {
  kEof,       ///< test mode: the peer closed the link
  kShutdown,  ///< the host asked for "shutdown" (the reply has been flushed)
};

/// Serves the agent link until EOF (test mode) or a shutdown request.
class LinkServer {
 public:
  LinkServer(Fd link, const Console& console, LinkOptions opts);
  ~LinkServer();
  LinkServer(const LinkServer&) = delete;
  LinkServer& operator=(const LinkServer&) = delete;

  /// Runs the event loop. Errors are setup failures (signalfd, ...).
  Result<LinkExit> run();

 private:
  // The event loop.
  /// Fills `set` for one poll() round; returns its timeout.
  int build_poll_set(PollSet& set);
  /// Handles what poll() reported for the entries from `set.tags_base` on.
  void handle_events(const PollSet& set);
  void reap_children();
  // The link.
  void read_link();
  void process_input();
  void flush_link();
  void enter_hangup(const char* why);
  /// The host is there to answer guest OPENs and DATAGRAMs.
  bool host_connected() const { return synced_ && !hangup_ && !eof_ && !shutting_down_; }
  // Frames from the host.
  void dispatch(proto::Frame f);
  void on_hello(const proto::Frame& f);
  void on_control(const proto::Frame& f);
  void on_open(const proto::Frame& f);
  /// A frame for an open channel (DATA, WINDOW, EOF, CLOSE, RESIZE, SIGNAL,
  /// or the host's answer to our OPEN).
  void on_channel_frame(Channel& c, const proto::Frame& f);
  /// The "egress" object of HELLO_ACK.
  std::string egress_json() const;
  // Channels.
  void add_channel(std::unique_ptr<Channel> c);
  /// Lets the channel send its final frames, and forgets it once closed.
  void settle(uint32_t id);
  void drop_all_channels();
  /// Accepts connections on an egress listener; each becomes a guest-opened
  /// channel (OPEN sent), or is closed at once (no host, too many).
  void accept_egress(bool transparent);
  /// A free channel id with kGuestChannelBit set.
  uint32_t alloc_guest_channel();

  Fd link_;
  const Console& console_;
  LinkOptions opts_;
  ExecSpawner spawner_;
  Fd sigfd_;

  proto::FrameDecoder decoder_;
  bool synced_ = false;
  std::string nonce_;    ///< current session; empty before the first HELLO
  bool hangup_ = false;  ///< the host is not connected (POLLHUP)
  bool eof_ = false;     ///< test mode: the peer closed the link
  LinkOutput out_;
  std::vector<char> read_buf_;
  ChannelContext ctx_;

  bool shutting_down_ = false;
  std::chrono::steady_clock::time_point shutdown_deadline_;

  std::map<uint32_t, std::unique_ptr<Channel>> channels_;
  /// Next candidate for alloc_guest_channel() (without the guest bit).
  uint32_t next_guest_ = 1;
  DnsRelay dns_;
  /// Egress refusals are logged at most this often (a retry loop must not
  /// flood the slow serial console).
  std::chrono::steady_clock::time_point egress_log_next_;
};

}  // namespace sbx::agent
