// The terminal side of the dashboard: ncurses set up and torn down by RAII,
// lines from dashboard_view.h painted, keys read and mapped to tui::Key.
#pragma once

#include <memory>
#include <utility>
#include <vector>

#include "base/result.h"
#include "tui/dashboard_view.h"

namespace sbx::tui {

/// Owns the full-screen terminal while it lives; the destructor leaves the
/// terminal as it found it. A crash signal (SIGSEGV, SIGABRT, ...) restores
/// the terminal modes before the process dies. One at a time per process.
class CursesScreen {
 public:
  /// Key code read_key() returns when the terminal was resized.
  static constexpr int kResize = 0x20000;

  /// Takes over the terminal on stdin/stdout. `colour`: use colours when
  /// the terminal has them (false for NO_COLOR: attributes only).
  static Result<std::unique_ptr<CursesScreen>> open(bool colour);
  ~CursesScreen();
  CursesScreen(const CursesScreen&) = delete;
  CursesScreen& operator=(const CursesScreen&) = delete;

  /// Rows and columns of the terminal.
  std::pair<int, int> size() const;
  /// Paints `lines` (as many as fit) and puts them on the terminal.
  void draw(const std::vector<Line>& lines);
  /// The next key already typed, or -1 when none is waiting (never blocks;
  /// poll stdin to wait).
  int read_key();
  /// Hands the terminal back (for an attached session) ...
  void suspend();
  /// ... and takes it again, picking up a size change made meanwhile.
  void resume();

 private:
  CursesScreen(bool colour) : colour_(colour) {}
  int attr_of(Style s) const;

  bool colour_;
  bool suspended_ = false;
};

}  // namespace sbx::tui
