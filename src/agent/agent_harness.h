// Test-only host side of the agent link: runs the real sbx-agent binary in
// test mode over a socketpair and speaks the protocol with proto's codecs.
#pragma once

#include <chrono>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "base/child_process.h"
#include "base/fd.h"
#include "proto/frame.h"
#include "proto/messages.h"

namespace sbx::agent::testing {

/// What a finished exec channel produced.
struct ExecOutcome {
  bool opened = false;
  std::optional<proto::OpenFailure> failure;
  std::string out, err;
  bool got_eof = false;
  bool got_exit = false;
  proto::ExitInfo exit;
  int pid = 0;
};

/// Drives one sbx-agent process.
class AgentHarness {
 public:
  /// Starts `sbx-agent --serve-fd 0` with one end of a socketpair as stdin.
  /// `extra_args` follow "--serve-fd 0" (e.g. the --dockerd test options).
  explicit AgentHarness(std::vector<std::string> extra_args = {});
  ~AgentHarness();

  bool started() const { return link_.valid(); }
  ChildProcess& process() { return agent_; }

  void send(uint32_t channel, proto::FrameType type, std::string_view payload);
  void send_raw(std::string_view bytes);
  /// Closes our end of the link (the agent sees EOF).
  void close_link() { link_.reset(); }

  /// Next frame on any channel (queued ones first); nullopt on timeout/EOF.
  std::optional<proto::Frame> recv(std::chrono::milliseconds timeout =
                                       std::chrono::seconds(10));
  /// Next frame on `channel`; frames for other channels stay queued.
  std::optional<proto::Frame> recv_on(uint32_t channel,
                                      std::chrono::milliseconds timeout =
                                          std::chrono::seconds(10));

  /// Sends HELLO (after `prefix` junk) and waits for the ACK with `nonce`.
  /// Returns the ACK's JSON, or nullopt.
  std::optional<std::string> handshake(const std::string& nonce,
                                       std::string_view prefix = {});

  /// Sends OPEN for `req` on `channel`.
  void open(uint32_t channel, const proto::ExecRequest& req);
  /// Opens, sends `input` then EOF, returns credit for all output, and
  /// collects until EXIT (or OPEN_FAIL, or the timeout).
  ExecOutcome run(uint32_t channel, const proto::ExecRequest& req,
                  const std::string& input = "", bool send_eof = true,
                  std::chrono::milliseconds timeout = std::chrono::seconds(20));
  /// Collects frames on an already-open channel until EXIT, returning
  /// credit for every DATA byte received.
  void collect(uint32_t channel, ExecOutcome& o, std::chrono::milliseconds timeout);

  /// A 16-byte nonce derived from `seed`.
  static std::string nonce(char seed) { return std::string(proto::kNonceSize, seed); }

 private:
  ChildProcess agent_;
  Fd link_;
  proto::FrameDecoder decoder_;
  std::deque<proto::Frame> queued_;
  bool eof_ = false;
};

/// An ExecRequest for `argv`.
proto::ExecRequest exec(std::vector<std::string> argv);

}  // namespace sbx::agent::testing
