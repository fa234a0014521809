// Terminal helpers: raw mode as an RAII guard, window size, colour choice.
#pragma once

#include <termios.h>

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <utility>

#include "base/result.h"

namespace sbx::cli {

/// Puts a terminal in raw mode and restores the saved settings when
/// destroyed, so every exit path (errors included) leaves the tty usable.
class RawTerminal {
 public:
  /// Switches `fd` to raw mode. Fails if `fd` is not a terminal.
  static Result<RawTerminal> enter(int fd);
  RawTerminal(RawTerminal&& o) noexcept
      : fd_(std::exchange(o.fd_, -1)), saved_(o.saved_) {}
  RawTerminal& operator=(RawTerminal&&) = delete;
  RawTerminal(const RawTerminal&) = delete;
  ~RawTerminal();

 private:
  RawTerminal(int fd, const termios& saved) : fd_(fd), saved_(saved) {}
  int fd_ = -1;
  termios saved_{};
};

/// Whether `fd` is a terminal.
bool is_terminal(int fd);

/// Rows and columns of the terminal on `fd`, if it is one.
std::optional<std::pair<uint16_t, uint16_t>> window_size(int fd);

/// Colour is used only on a terminal and never when NO_COLOR is set to a
/// non-empty value (per no-color.org). `no_color_env` is getenv("NO_COLOR").
bool use_colour(bool is_tty, const char* no_color_env);

/// Prints `question` (e.g. "... Continue? [y/N] ") on `out` and reads one
/// line from `in_fd`. Only "y" or "yes" (any case) agree; EOF refuses.
bool confirm(int in_fd, std::ostream& out, const std::string& question);

}  // namespace sbx::cli
