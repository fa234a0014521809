#include "cli/terminal.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>

#include "base/strings.h"

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

bool confirm(int in_fd, std::ostream& out, const std::string& question) {
  out << question;
  out.flush();
  // Byte by byte: nothing past the newline may be taken from the terminal.
  std::string line;
  for (;;) {
    char c;
    ssize_t n = ::read(in_fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || c == '\n') break;
    line += c;
  }
  auto a = to_lower(trim(line));
  return a == "y" || a == "yes";
}

}  // namespace sbx::cli
