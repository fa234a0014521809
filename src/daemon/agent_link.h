// Host side of the agent link: one connection to a guest's sbx-agent over
// QEMU's virtio-serial chardev socket. Everything the guest sends is
// untrusted: frames are bounded by the decoder, and per-channel credit is
// enforced so a hostile guest cannot make the daemon buffer without limit.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "base/fd.h"
#include "base/log.h"
#include "base/result.h"
#include "proto/frame.h"
#include "proto/messages.h"

namespace sbx::daemon {

class AgentLink;

/// One channel to the guest: a command (exec), a TCP stream (published
/// ports) or, for channels the guest opened, an egress connection. Events
/// arrive in order; output credit is returned with consumed() once the
/// bytes have been passed on.
class GuestChannel {
 public:
  struct Event {
    /// kEof: the guest will send no more data (a tcp half-close). kClosed:
    /// the guest ended a tcp channel. kExit/kError end an exec channel.
    enum class Kind { kStdout, kStderr, kEof, kExit, kClosed, kError };
    Kind kind = Kind::kError;
    std::string data;     ///< output bytes, or the error text
    proto::ExitInfo exit;
  };

  /// Blocks until the next event. After kExit, kClosed or kError no more follow.
  Event next_event();
  /// Returns `n` bytes of output credit to the guest.
  void consumed(size_t n);
  /// Sends stdin, waiting for the guest's credit as needed.
  Result<void> write_stdin(std::string_view data);
  /// Half-close: no more stdin (exec) or a write shutdown (tcp).
  Result<void> close_stdin();
  Result<void> resize(uint16_t rows, uint16_t cols);
  Result<void> signal(int sig);
  /// Kills the command (CLOSE) and forgets the channel. A next_event()
  /// blocked in another thread returns (kError "aborted").
  void abort();
  uint32_t id() const { return id_; }
  /// The guest pid from OPEN_OK, when it reported one.
  int64_t pid() const { return pid_; }

 private:
  friend class AgentLink;
  GuestChannel(std::shared_ptr<AgentLink> link, uint32_t id)
      : link_(std::move(link)), id_(id) {}
  void push(Event e);
  void fail(const std::string& why);

  std::shared_ptr<AgentLink> link_;
  uint32_t id_;
  int64_t pid_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Event> events_;
  bool finished_ = false;  // kExit/kError queued
  // Opening handshake.
  bool open_done_ = false;
  bool open_ok_ = false;
  proto::OpenFailure open_failure_;
  // Credit.
  uint64_t send_credit_ = proto::kInitialWindow;  // stdin we may still send
  uint64_t recv_outstanding_ = 0;                 // output not yet credited back
};

/// What a handshake saw, for callers that check its bounds (a hostile guest
/// may flood the port before it answers).
struct HandshakeStats {
  size_t bytes_read = 0;     ///< bytes read from the guest during the handshake
  size_t peak_buffered = 0;  ///< most bytes the decoder held after a resync
};

/// A synchronised connection to one guest agent. Thread-safe. The link lives
/// until close() is called or the guest goes away: its reader thread holds a
/// reference, so dropping the last outside reference does not end it.
class AgentLink : public std::enable_shared_from_this<AgentLink> {
 public:
  /// Connects to the chardev socket and performs the HELLO handshake,
  /// re-sending HELLO until the agent answers with our nonce. `alive` is
  /// polled while waiting: when it returns false (QEMU died) we give up.
  static Result<std::shared_ptr<AgentLink>> connect(
      const std::string& socket_path, std::chrono::milliseconds timeout,
      const std::function<bool()>& alive, Logger& log);
  /// Performs the handshake on an already connected stream (tests use a
  /// socketpair with a real sbx-agent on the other end).
  /// `stats`, when given, is filled in whether or not the handshake succeeds.
  static Result<std::shared_ptr<AgentLink>> handshake(Fd fd, std::chrono::milliseconds timeout,
                                                      const std::function<bool()>& alive,
                                                      Logger& log, HandshakeStats* stats = nullptr);
  ~AgentLink();

  /// Sends a control request and waits for its response.
  Result<proto::ControlResponse> control(const std::string& op,
                                         std::chrono::milliseconds timeout);
  /// Starts a command. On OPEN_FAIL the error carries the agent's text and,
  /// in exit_code, its docker-style code (125/126/127).
  Result<std::shared_ptr<GuestChannel>> open_exec(const proto::ExecRequest& req,
                                                 std::chrono::milliseconds timeout);
  /// Opens a TCP connection from inside the guest (to its loopback, usually).
  Result<std::shared_ptr<GuestChannel>> open_tcp(const proto::TcpConnectRequest& req,
                                                std::chrono::milliseconds timeout);
  bool connected() const;

  /// Called on the link's reader thread for each egress channel the guest
  /// opens, after OPEN_OK went out: the channel is registered and its DATA
  /// is already queued. It must not block (start a thread) and must not
  /// call the setters below. An error closes the channel again (CLOSE).
  using EgressHandler =
      std::function<Result<void>(std::shared_ptr<GuestChannel>, proto::EgressOpen)>;
  /// Called on the reader thread for each DATAGRAM on proto::kDnsChannel;
  /// must not block (queue the work) nor call the setters below.
  using DnsHandler = std::function<void(proto::Datagram)>;
  /// Installs (or, with nullptr, removes) the egress handler. Without one,
  /// guest OPENs get OPEN_FAIL "egress is not enabled". Once this returns
  /// the previous handler is not running and will not be called again.
  void set_egress_handler(EgressHandler h);
  /// Same for DNS datagrams; without a handler they are dropped.
  void set_dns_handler(DnsHandler h);
  /// Sends a DATAGRAM on proto::kDnsChannel (a DNS answer echoing `tag`).
  Result<void> send_datagram(uint32_t tag, std::string_view body);
  /// At most this many guest-opened channels at once; OPEN_FAIL beyond.
  static constexpr size_t kMaxGuestChannels = 256;

  /// Closes the connection; every open channel ends with an error.
  void close();
  /// The JSON the agent sent in HELLO_ACK (kernel, hostname, ...).
  const std::string& agent_info() const { return agent_info_; }

 private:
  friend class GuestChannel;
  AgentLink(Fd fd, Logger& log) : fd_(std::move(fd)), log_(log) {}
  Result<void> send(uint32_t channel, proto::FrameType type, std::string_view payload);
  void reader_loop();
  void dispatch(proto::Frame f);
  /// A guest OPEN: validated, bounded, handed to the egress handler.
  void guest_open(proto::Frame& f);
  void refuse_open(uint32_t channel, const std::string& why);
  void fail_all(const std::string& why);
  void forget(uint32_t channel);
  Result<std::shared_ptr<GuestChannel>> open(const std::string& payload,
                                            std::chrono::milliseconds timeout);

  Fd fd_;
  Logger& log_;
  std::string agent_info_;
  proto::FrameDecoder decoder_;
  std::mutex write_mu_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool broken_ = false;
  std::string broken_reason_;
  uint64_t next_control_id_ = 1;
  uint32_t next_channel_ = 1;
  std::map<uint64_t, std::optional<proto::ControlResponse>> pending_controls_;
  std::map<uint32_t, std::shared_ptr<GuestChannel>> channels_;
  // Held while a handler runs, so a setter returning means the old handler
  // is done (its owner may then go away). Never taken under mu_.
  std::mutex handler_mu_;
  EgressHandler egress_handler_;
  DnsHandler dns_handler_;
  std::thread reader_;
};

}  // namespace sbx::daemon
