// A program on a real terminal: a tmux session on a private tmux server,
// whose rendered screen the test reads (what a user would see, after the
// terminal emulator has applied the program's escape sequences).
#pragma once

#include <chrono>
#include <string>

namespace sbx::testing {

/// One detached tmux session running `command` under `sh -c`; the
/// destructor kills the private server and everything in it.
class TmuxSession {
 public:
  /// Starts the session (width x height); check ok().
  TmuxSession(const std::string& command, int width = 160, int height = 50);
  ~TmuxSession();
  TmuxSession(const TmuxSession&) = delete;
  TmuxSession& operator=(const TmuxSession&) = delete;

  bool ok() const { return ok_; }
  /// The visible screen and its scrollback, as text.
  std::string screen() const;
  /// Waits until the screen contains `text`; false when `timeout` passed.
  bool wait_for(const std::string& text, std::chrono::seconds timeout) const;
  /// Types `keys` (tmux send-keys syntax, e.g. "Enter", "C-c", or literal text
  /// with `literal`).
  void send_keys(const std::string& keys, bool literal = false) const;

 private:
  std::string socket_;
  bool ok_ = false;
};

}  // namespace sbx::testing
