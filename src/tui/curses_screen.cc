#include "tui/curses_screen.h"

#include <curses.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string>

namespace sbx::tui {

namespace {

// The terminal modes from before ncurses, for the crash handler. A signal
// handler can reach nothing else, so this is the one process-wide state
// here; it is written once, before the handlers are installed.
struct termios g_saved_modes;
bool g_have_saved_modes = false;

constexpr int kCrashSignals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};

void restore_on_crash(int sig) {
  // Only async-signal-safe calls: the modes, leave the alternate screen,
  // show the cursor; then die of the same signal (SA_RESETHAND).
  if (g_have_saved_modes) ::tcsetattr(STDIN_FILENO, TCSANOW, &g_saved_modes);
  static const char kReset[] = "\x1b[0m\x1b[?1049l\x1b[?25h\r\n";
  (void)!::write(STDOUT_FILENO, kReset, sizeof kReset - 1);
  ::raise(sig);
}

enum Pair : short {
  kPairTitle = 1,
  kPairHeader,
  kPairSelected,
  kPairBlocked,
  kPairAllowed,
  kPairError
};

}  // namespace

Result<std::unique_ptr<CursesScreen>> CursesScreen::open(bool colour) {
  if (!::isatty(STDIN_FILENO) || !::isatty(STDOUT_FILENO))
    return err("the dashboard needs a terminal on stdin and stdout");
  if (::tcgetattr(STDIN_FILENO, &g_saved_modes) == 0) g_have_saved_modes = true;
  // newterm, unlike initscr, returns an error instead of exiting.
  SCREEN* scr = newterm(nullptr, stdout, stdin);
  if (!scr) {
    const char* term = std::getenv("TERM");
    return err(std::string("cannot open the terminal for the dashboard (TERM=") +
               (term ? term : "unset") + "); set TERM, e.g. TERM=xterm-256color");
  }
  set_term(scr);
  for (int sig : kCrashSignals) {
    struct sigaction sa {};
    sa.sa_handler = restore_on_crash;
    sa.sa_flags = SA_RESETHAND;
    ::sigaction(sig, &sa, nullptr);
  }
  cbreak();
  noecho();
  nonl();
  keypad(stdscr, TRUE);
  nodelay(stdscr, TRUE);
  set_escdelay(25);
  curs_set(0);
  bool use_colour = colour && has_colors();
  if (use_colour) {
    start_color();
    use_default_colors();
    init_pair(kPairTitle, COLOR_BLACK, COLOR_CYAN);
    init_pair(kPairHeader, COLOR_CYAN, -1);
    init_pair(kPairSelected, COLOR_BLACK, COLOR_WHITE);
    init_pair(kPairBlocked, COLOR_RED, -1);
    init_pair(kPairAllowed, COLOR_GREEN, -1);
    init_pair(kPairError, COLOR_WHITE, COLOR_RED);
  }
  return std::unique_ptr<CursesScreen>(new CursesScreen(use_colour));
}

CursesScreen::~CursesScreen() {
  if (!suspended_) endwin();
  SCREEN* scr = set_term(nullptr);
  if (scr) delscreen(scr);
  for (int sig : kCrashSignals) ::signal(sig, SIG_DFL);
}

std::pair<int, int> CursesScreen::size() const {
  int rows = 0, cols = 0;
  getmaxyx(stdscr, rows, cols);
  return {rows, cols};
}

int CursesScreen::attr_of(Style s) const {
  if (!colour_) {
    // NO_COLOR: attributes carry the same meaning.
    switch (s) {
      case Style::kTitle:
      case Style::kSelected:
      case Style::kError:
        return A_REVERSE;
      case Style::kHeader:
      case Style::kBlocked:
        return A_BOLD;
      case Style::kDim:
        return A_DIM;
      default:
        return A_NORMAL;
    }
  }
  switch (s) {
    case Style::kTitle:
      return COLOR_PAIR(kPairTitle);
    case Style::kHeader:
      return COLOR_PAIR(kPairHeader) | A_BOLD;
    case Style::kSelected:
      return COLOR_PAIR(kPairSelected);
    case Style::kBlocked:
      return COLOR_PAIR(kPairBlocked) | A_BOLD;
    case Style::kAllowed:
      return COLOR_PAIR(kPairAllowed);
    case Style::kDim:
      return A_DIM;
    case Style::kError:
      return COLOR_PAIR(kPairError) | A_BOLD;
    default:
      return A_NORMAL;
  }
}

void CursesScreen::draw(const std::vector<Line>& lines) {
  auto [rows, cols] = size();
  erase();
  for (int y = 0; y < rows && y < static_cast<int>(lines.size()); ++y) {
    const Line& l = lines[static_cast<size_t>(y)];
    mvaddnstr(y, 0, l.text.c_str(), std::min<int>(cols, static_cast<int>(l.text.size())));
    // Spans paint in order, so a row's own style comes first and the
    // spans inside it override it.
    for (const Span& sp : l.spans) {
      if (static_cast<int>(sp.col) >= cols) continue;
      int len = std::min<int>(static_cast<int>(sp.len), cols - static_cast<int>(sp.col));
      int a = attr_of(sp.style);
      mvwchgat(stdscr, y, static_cast<int>(sp.col), len, static_cast<attr_t>(a & ~A_COLOR),
               static_cast<short>(PAIR_NUMBER(a)), nullptr);
    }
  }
  refresh();
}

int CursesScreen::read_key() {
  int c = getch();
  switch (c) {
    case ERR:
      return -1;
    case KEY_RESIZE:
      return kResize;
    case KEY_UP:
      return kKeyUp;
    case KEY_DOWN:
      return kKeyDown;
    case KEY_PPAGE:
      return kKeyPageUp;
    case KEY_NPAGE:
      return kKeyPageDown;
    case KEY_HOME:
      return kKeyHome;
    case KEY_END:
      return kKeyEnd;
    case KEY_BACKSPACE:
    case 127:
    case 8:
      return kKeyBackspace;
    case KEY_ENTER:
    case '\r':
    case '\n':
      return kKeyEnter;
    default:
      return c;
  }
}

void CursesScreen::suspend() {
  if (suspended_) return;
  def_prog_mode();
  endwin();
  suspended_ = true;
}

void CursesScreen::resume() {
  if (!suspended_) return;
  suspended_ = false;
  reset_prog_mode();
  // The session may have seen the window change size (it watched
  // SIGWINCH itself): ask the terminal.
  struct winsize ws {};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
    resizeterm(ws.ws_row, ws.ws_col);
  clearok(stdscr, TRUE);
  refresh();
}

}  // namespace sbx::tui
