// Drives one upgraded exec connection: forwards stdin as DATA frames, writes
// DATA/DATA_ERR to stdout/stderr, relays window changes and signals, and
// returns the command's exit code. Flow control follows the agent link:
// credit-based per direction, kInitialWindow granted up front.
#pragma once

#include <cstdint>
#include <string>

#include "base/fd.h"
#include "base/result.h"
#include "client/api_client.h"
#include "proto/frame.h"

namespace sbx::cli {

class SignalWatcher;

/// Where the session reads and writes; tests pass pipes instead of 0/1/2.
struct ExecIo {
  int in = 0;
  int out = 1;
  int err = 2;
};

/// How the session behaves.
struct ExecSessionOptions {
  /// -i: forward stdin. Without it EOF is sent at once and stdin is not read.
  bool forward_stdin = false;
  /// Terminal whose size is sent as RESIZE on SIGWINCH; -1 for none.
  int tty_fd = -1;
  /// Signals to forward (SIGINT, SIGTERM...) and SIGWINCH; may be null.
  SignalWatcher* signals = nullptr;
};

/// One exec stream from the 101 answer to the EXIT frame.
class ExecSession {
 public:
  ExecSession(client::ExecStream stream, ExecIo io, ExecSessionOptions opts);

  /// Runs until EXIT and returns the command's exit code. Fails if the
  /// connection drops first or the daemon breaks the protocol.
  Result<int> run();

  /// Bytes of stdin sent so far (for tests and diagnostics).
  uint64_t stdin_bytes_sent() const { return stdin_sent_; }

 private:
  Result<void> handle_frames();
  Result<void> read_socket();
  void flush_socket();
  void read_stdin();
  void handle_signal(int sig);
  void queue(proto::FrameType type, std::string_view payload);
  void write_output(int fd, bool& broken, std::string_view data);

  client::ExecStream stream_;
  ExecIo io_;
  ExecSessionOptions opts_;
  proto::FrameDecoder decoder_;
  std::string outbox_;                              // frames not yet sent
  uint64_t send_credit_ = proto::kInitialWindow;    // stdin we may still send
  uint64_t stdin_sent_ = 0;
  bool stdin_open_ = true;
  bool write_dead_ = false;
  bool out_broken_ = false;
  bool err_broken_ = false;
  int forwarded_interrupts_ = 0;
  bool aborted_ = false;
  int exit_code_ = -1;
};

}  // namespace sbx::cli
