// The agent side of the agent link: one non-blocking poll() loop serving the
// framed protocol of proto/frame.h on one fd (the virtio-serial port, or a
// socket in test mode). See docs/protocol.md for the exact behaviour.
#pragma once

#include <sys/types.h>

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "agent/console.h"
#include "agent/egress.h"
#include "agent/exec_channel.h"
#include "agent/exec_spawner.h"
#include "agent/tcp_channel.h"
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
  // Link input.
  void read_link();
  void process_input();
  void dispatch(proto::Frame f);
  void on_hello(const proto::Frame& f);
  void on_control(const proto::Frame& f);
  void on_open(const proto::Frame& f);
  void on_data(ExecChannel& c, const proto::Frame& f);
  void on_window(ExecChannel& c, const proto::Frame& f);
  void on_eof(ExecChannel& c);
  void on_resize(ExecChannel& c, const proto::Frame& f);
  void on_signal(ExecChannel& c, const proto::Frame& f);
  // Link output.
  void send(uint32_t channel, proto::FrameType type, std::string_view payload);
  size_t pending_out() const { return out_.size() - out_off_; }
  void flush_link();
  void enter_hangup(const char* why);
  // Channels.
  void write_stdin(ExecChannel& c);
  void read_output(ExecChannel& c, int which);
  void credit_back(ExecChannel& c, uint64_t n);
  /// Sends WINDOW(n) for `id` and lowers its `outstanding` count.
  void credit_back_raw(uint32_t id, uint64_t& outstanding, uint64_t n);
  void maybe_finish(uint32_t id);
  void kill_channel(ExecChannel& c);
  void drop_channel(uint32_t id, bool kill);
  void drop_all_channels();
  void reap_children();
  // TCP channels (link_server_tcp.cc).
  void open_tcp(const proto::Frame& f);
  void tcp_frame(TcpChannel& c, const proto::Frame& f);
  void tcp_connected(TcpChannel& c);
  void tcp_read(TcpChannel& c);
  void tcp_write(TcpChannel& c);
  /// Sends CLOSE (after logging `why`, if any) and forgets the channel.
  void tcp_close(uint32_t id, const std::string& why);
  /// Ends the channel if both directions are finished.
  void tcp_maybe_finish(uint32_t id);
  /// Fails connects past their deadline; returns ms until the next one (-1).
  int tcp_check_deadlines();
  bool channel_in_use(uint32_t id) const { return channels_.count(id) || tcp_.count(id); }
  // Egress (link_server_egress.cc).
  /// Accepts pending connections on a listener; each becomes a guest-opened
  /// channel (OPEN sent), or is closed at once (no host, too many).
  void egress_accept(bool transparent);
  /// OPEN_OK / OPEN_FAIL from the host on a guest-opened channel.
  void egress_reply(const proto::Frame& f);
  /// Reads queries from the DNS stub socket and relays them as DATAGRAMs.
  void dns_read();
  /// A DATAGRAM from the host: the answer for a pending query's tag.
  void on_datagram(const proto::Frame& f);
  /// A free channel id with kGuestChannelBit set.
  uint32_t alloc_guest_channel();
  /// The host is there to answer guest OPENs and DATAGRAMs.
  bool host_connected() const { return synced_ && !hangup_ && !eof_ && !shutting_down_; }
  /// The "egress" object of HELLO_ACK.
  std::string egress_json() const;

  Fd link_;
  const Console& console_;
  LinkOptions opts_;
  ExecSpawner spawner_;
  Fd sigfd_;

  proto::FrameDecoder decoder_;
  bool synced_ = false;
  std::string nonce_;      ///< current session; empty before the first HELLO
  bool hangup_ = false;    ///< the host is not connected (POLLHUP)
  bool eof_ = false;       ///< test mode: the peer closed the link
  std::string out_;        ///< encoded frames not yet written
  size_t out_off_ = 0;     ///< bytes of out_ already written
  std::vector<char> read_buf_;

  bool shutting_down_ = false;
  std::chrono::steady_clock::time_point shutdown_deadline_;

  std::map<uint32_t, ExecChannel> channels_;
  std::map<uint32_t, TcpChannel> tcp_;

  /// Next candidate for alloc_guest_channel() (without the guest bit).
  uint32_t next_guest_ = 1;
  /// A DNS query relayed to the host and not yet answered.
  struct DnsPending {
    uint32_t tag = 0;
    sockaddr_storage client{};
    socklen_t client_len = 0;
    std::chrono::steady_clock::time_point deadline;
  };
  /// Oldest first; bounded (the oldest is dropped when full).
  std::deque<DnsPending> dns_pending_;
  uint32_t next_dns_tag_ = 1;
  /// Refusals are logged at most this often (a retry loop must not flood
  /// the slow serial console).
  std::chrono::steady_clock::time_point egress_log_next_;

  /// Stop reading children once this much encoded output waits for the
  /// link: the buffer stays bounded and children feel backpressure.
  static constexpr size_t kOutHighWater = 256u << 10;
};

}  // namespace sbx::agent
