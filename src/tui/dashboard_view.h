// Lays the dashboard's model out as lines of text with styled spans, for a
// terminal of a given size. Pure, so layouts are unit-tested without a
// terminal; curses_screen.h only paints what this returns.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tui/dashboard_state.h"

namespace sbx::tui {

/// How a span of a line is painted.
enum class Style { kNormal, kTitle, kHeader, kSelected, kBlocked, kAllowed, kDim, kError };

/// `len` columns from `col` painted in `style`.
struct Span {
  size_t col = 0;
  size_t len = 0;
  Style style = Style::kNormal;
};

/// One screen row: exactly `cols` printable ASCII characters.
struct Line {
  std::string text;
  std::vector<Span> spans;
};

/// Terminals narrower than this stack the panes instead of splitting.
inline constexpr int kSideBySideCols = 120;

/// The whole screen for `rows` x `cols` (each at least 1). `now_ms` is the
/// wall clock, for "last seen" ages.
std::vector<Line> render(const DashboardState& st, int rows, int cols, int64_t now_ms);

/// The key help shown by `?`, one line per entry.
const std::vector<std::string>& help_lines();

}  // namespace sbx::tui
