#include "cli/terminal.h"

#include <sys/ioctl.h>
#include <unistd.h>

namespace sbx::cli {

Result<RawTerminal> RawTerminal::enter(int fd) {
  termios saved{};
  if (::tcgetattr(fd, &saved) < 0) return errno_error("tcgetattr");
  termios raw = saved;
  ::cfmakeraw(&raw);
  if (::tcsetattr(fd, TCSADRAIN, &raw) < 0) return errno_error("tcsetattr");
  return RawTerminal(fd, saved);
}

RawTerminal::~RawTerminal() {
  if (fd_ >= 0) ::tcsetattr(fd_, TCSADRAIN, &saved_);
}

bool is_terminal(int fd) { return ::isatty(fd) == 1; }

std::optional<std::pair<uint16_t, uint16_t>> window_size(int fd) {
  winsize ws{};
  if (::ioctl(fd, TIOCGWINSZ, &ws) < 0 || ws.ws_row == 0 || ws.ws_col == 0)
    return std::nullopt;
  return std::pair<uint16_t, uint16_t>{ws.ws_row, ws.ws_col};
}

bool use_colour(bool is_tty, const char* no_color_env) {
  if (no_color_env != nullptr && *no_color_env != '\0') return false;
  return is_tty;
}

}  // namespace sbx::cli
