#include "tui/dashboard_view.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "base/strings.h"

namespace sbx::tui {

namespace {

/// Builds one line of exactly `width` columns, clipping what does not fit.
class LineBuilder {
 public:
  explicit LineBuilder(size_t width) : width_(width) {}

  /// Appends `s` (made printable) in `style`, padded or clipped to `w`
  /// columns when `w` > 0.
  LineBuilder& add(std::string_view s, Style style = Style::kNormal, size_t w = 0) {
    std::string t = printable(s);
    if (w > 0) {
      if (t.size() > w) t = w > 1 ? t.substr(0, w - 1) + "~" : t.substr(0, w);
      t.resize(w, ' ');
    }
    size_t room = width_ > line_.text.size() ? width_ - line_.text.size() : 0;
    if (t.size() > room) t.resize(room);
    if (!t.empty() && style != Style::kNormal)
      line_.spans.push_back({line_.text.size(), t.size(), style});
    line_.text += t;
    return *this;
  }
  /// Paints the whole line (padded to the width) in `style`.
  Line done(Style whole = Style::kNormal) {
    line_.text.resize(width_, ' ');
    if (whole != Style::kNormal) line_.spans.insert(line_.spans.begin(), {0, width_, whole});
    return std::move(line_);
  }

 private:
  size_t width_;
  Line line_;
};

std::string age(int64_t now_ms, int64_t then_ms) {
  int64_t s = std::max<int64_t>(0, (now_ms - then_ms) / 1000);
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600) return std::to_string(s / 60) + "m";
  if (s < 86400) return std::to_string(s / 3600) + "h";
  return std::to_string(s / 86400) + "d";
}

std::string clock_of(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  return buf;
}

std::string ports_of(const proto::SandboxInfo& s) {
  std::string out;
  for (auto& p : s.ports) {
    if (!out.empty()) out += ",";
    out += std::to_string(p.host_port) + "->" + std::to_string(p.sandbox_port);
  }
  return out.empty() ? "-" : out;
}

std::string cpu_of(const proto::SandboxInfo& s) {
  if (s.status != "running" || s.cpu_percent < 0) return "-";
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.0f%%", s.cpu_percent);
  return buf;
}

/// A pane: a title row, a column header and `height - 2` rows, scrolled so
/// that the selected row shows.
struct Pane {
  size_t width, height;
  bool focused;
};

size_t first_row(size_t selected, size_t rows_visible) {
  return selected >= rows_visible ? selected - rows_visible + 1 : 0;
}

void sandboxes_pane(const DashboardState& st, const Pane& p, std::vector<Line>& out) {
  auto vis = st.visible_sandboxes();
  std::string title = " Sandboxes (" + std::to_string(vis.size()) + ")";
  if (!st.filter().empty()) title += "  filter: " + st.filter();
  out.push_back(LineBuilder(p.width).add(title).done(p.focused ? Style::kHeader : Style::kDim));
  // Widths: name, agent, status, cpu, mem, ports; the workspace takes the rest.
  const size_t wn = 18, wa = 9, ws = 9, wc = 5, wm = 10, wp = 14;
  out.push_back(LineBuilder(p.width)
                    .add("NAME", Style::kDim, wn)
                    .add("AGENT", Style::kDim, wa)
                    .add("STATUS", Style::kDim, ws)
                    .add("CPU", Style::kDim, wc)
                    .add("MEM", Style::kDim, wm)
                    .add("PORTS", Style::kDim, wp)
                    .add("WORKSPACE", Style::kDim)
                    .done());
  size_t rows = p.height > 2 ? p.height - 2 : 0;
  size_t first = first_row(st.sandbox_row(), rows);
  for (size_t i = 0; i < rows; ++i) {
    size_t k = first + i;
    if (k >= vis.size()) {
      out.push_back(LineBuilder(p.width)
                        .add(vis.empty() && i == 0 ? "  No sandboxes. Press c to create one." : "",
                             Style::kDim)
                        .done());
      continue;
    }
    const auto& s = *vis[k];
    Style status = s.status == "running"  ? Style::kAllowed
                   : s.status == "failed" ? Style::kBlocked
                                          : Style::kNormal;
    std::string mem = s.rss_bytes ? format_size(s.rss_bytes) : format_size(s.memory_bytes);
    LineBuilder b(p.width);
    b.add(s.name, Style::kNormal, wn)
        .add(s.agent, Style::kNormal, wa)
        .add(s.status, status, ws)
        .add(cpu_of(s), Style::kNormal, wc)
        .add(mem, Style::kNormal, wm)
        .add(ports_of(s), Style::kNormal, wp)
        .add(s.workspace);
    bool sel = k == st.sandbox_row();
    out.push_back(b.done(sel ? (p.focused ? Style::kSelected : Style::kDim) : Style::kNormal));
  }
}

void network_pane(const DashboardState& st, const Pane& p, int64_t now_ms, std::vector<Line>& out) {
  bool live = st.net_view() == DashboardState::NetView::kLive;
  std::string title = live ? " Network: live (v: by host)" : " Network: by host (v: live)";
  out.push_back(LineBuilder(p.width).add(title).done(p.focused ? Style::kHeader : Style::kDim));
  size_t rows = p.height > 2 ? p.height - 2 : 0;
  size_t first = first_row(st.network_row(), rows);
  auto row_style = [&](size_t k, Style base) {
    if (k == st.network_row()) return p.focused ? Style::kSelected : Style::kDim;
    return base;
  };
  if (live) {
    out.push_back(LineBuilder(p.width)
                      .add("TIME", Style::kDim, 9)
                      .add("SANDBOX", Style::kDim, 16)
                      .add("VERDICT", Style::kDim, 8)
                      .add("BYTES", Style::kDim, 10)
                      .add("HOST", Style::kDim)
                      .done());
    auto v = st.visible_entries();
    for (size_t i = 0; i < rows; ++i) {
      size_t k = first + i;
      if (k >= v.size()) {
        out.push_back(LineBuilder(p.width)
                          .add(v.empty() && i == 0 ? "  No requests yet." : "", Style::kDim)
                          .done());
        continue;
      }
      const auto& e = *v[k];
      Style verdict = e.allowed ? Style::kAllowed : Style::kBlocked;
      std::string host =
          e.host + (e.port && e.port != 443 && e.kind != "dns" ? ":" + std::to_string(e.port) : "");
      if (e.kind == "dns") host += " (dns)";
      LineBuilder b(p.width);
      b.add(clock_of(e.time_ms), Style::kNormal, 9)
          .add(e.sandbox, Style::kNormal, 16)
          .add(e.allowed ? "allow" : "BLOCK", verdict, 8)
          .add(format_size(e.bytes_up + e.bytes_down), Style::kNormal, 10)
          .add(host, e.allowed ? Style::kNormal : Style::kBlocked);
      out.push_back(b.done(row_style(k, Style::kNormal)));
    }
    return;
  }
  out.push_back(LineBuilder(p.width)
                    .add("COUNT", Style::kDim, 7)
                    .add("LAST", Style::kDim, 6)
                    .add("VERDICT", Style::kDim, 9)
                    .add("HOST", Style::kDim)
                    .done());
  auto hosts = st.visible_hosts();
  for (size_t i = 0; i < rows; ++i) {
    size_t k = first + i;
    if (k >= hosts.size()) {
      out.push_back(LineBuilder(p.width).done());
      continue;
    }
    const auto& h = hosts[k];
    auto verdict = proto::verdict_of(h);
    Style vs = verdict == "allowed" ? Style::kAllowed : Style::kBlocked;
    LineBuilder b(p.width);
    b.add(std::to_string(h.count), Style::kNormal, 7)
        .add(age(now_ms, h.last_seen_ms), Style::kNormal, 6)
        .add(verdict, vs, 9)
        .add(h.host, verdict == "allowed" ? Style::kNormal : Style::kBlocked);
    out.push_back(b.done(row_style(k, Style::kNormal)));
  }
}

/// The bottom line: a prompt, a question or the status.
Line bottom_line(const DashboardState& st, size_t cols) {
  using M = DashboardState::Mode;
  LineBuilder b(cols);
  switch (st.mode()) {
    case M::kFilter:
      return b.add("Filter: " + st.input() + "_  (enter keeps, esc clears)").done(Style::kHeader);
    case M::kPublish:
      return b.add("Publish [[IP:]HOST_PORT:]SANDBOX_PORT: " + st.input() + "_  (esc cancels)")
          .done(Style::kHeader);
    case M::kConfirmDelete: {
      auto* s = st.selected_sandbox();
      return b.add("Delete sandbox '" + (s ? s->name : "") + "' and its disk? (y/N)")
          .done(Style::kError);
    }
    case M::kScope:
      return b
          .add(std::string(st.scope_allows() ? "Allow " : "Block ") + st.scope_host() +
               " for [s]andbox " + st.scope_sandbox() + " or [g]lobally? (esc cancels)")
          .done(Style::kHeader);
    default:
      break;
  }
  if (!st.status().empty())
    return b.add(" " + st.status()).done(st.status_is_error() ? Style::kError : Style::kNormal);
  return b
      .add(
          " enter attach  c create  s stop  r restart  d delete  p publish  / filter  "
          "tab pane  a/b allow/block  v view  ? help  q quit",
          Style::kDim)
      .done();
}

void create_form(const DashboardState& st, size_t cols, std::vector<Line>& out) {
  const auto& labels = DashboardState::create_labels();
  const auto& values = st.create_values();
  out.push_back(LineBuilder(cols)
                    .add(" Create a sandbox (tab: next field, enter: next/create, esc: cancel)")
                    .done(Style::kHeader));
  static const char* hints[] = {"shell, claude, codex, gemini, copilot, opencode",
                                "workspace directory (empty: where sbx was started)",
                                "empty: AGENT-DIRNAME", "e.g. 4g (empty: default)"};
  for (size_t i = 0; i < labels.size() && i < values.size(); ++i) {
    bool cur = i == st.create_field();
    LineBuilder b(cols);
    b.add(cur ? " > " : "   ").add(labels[i], Style::kNormal, 8).add(values[i] + (cur ? "_" : ""));
    b.add("   ").add(hints[i], Style::kDim);
    out.push_back(b.done(cur ? Style::kSelected : Style::kNormal));
  }
}

}  // namespace

const std::vector<std::string>& help_lines() {
  static const std::vector<std::string> lines = {
      "sbx dashboard keys",
      "",
      "  up/down, j/k, pgup/pgdn, g/G   move in the focused pane",
      "  tab                            switch pane (sandboxes / network)",
      "  enter                          attach to the selected sandbox (detach returns here)",
      "  c                              create a sandbox (agent, path, name, memory)",
      "  s / r / d                      stop / restart / delete (asks first) the sandbox",
      "  p                              publish a port of the sandbox",
      "  /                              filter both panes by text (esc clears)",
      "  v                              network pane: live requests or grouped by host",
      "  a / b                          network pane: allow / block the selected host,",
      "                                 for its sandbox (s) or globally (g)",
      "  ?                              this help",
      "  q                              quit (sandboxes keep running)",
      "",
      "Press any key to go back.",
  };
  return lines;
}

std::vector<Line> render(const DashboardState& st, int rows_in, int cols_in, int64_t now_ms) {
  size_t rows = static_cast<size_t>(std::max(rows_in, 1));
  size_t cols = static_cast<size_t>(std::max(cols_in, 1));
  std::vector<Line> out;
  out.push_back(LineBuilder(cols)
                    .add(" sbx dashboard")
                    .add("   ? help  q quit", Style::kTitle)
                    .done(Style::kTitle));
  using M = DashboardState::Mode;
  if (st.mode() == M::kHelp) {
    for (auto& h : help_lines()) out.push_back(LineBuilder(cols).add(h).done());
  } else {
    size_t form = st.mode() == M::kCreate ? DashboardState::create_labels().size() + 1 : 0;
    size_t body = rows > 2 + form ? rows - 2 - form : 0;
    bool sb_focus = st.focus() == DashboardState::Focus::kSandboxes;
    if (static_cast<int>(cols) >= kSideBySideCols) {
      size_t left = cols / 2, right = cols - left - 1;
      std::vector<Line> l, r;
      sandboxes_pane(st, {left, body, sb_focus}, l);
      network_pane(st, {right, body, !sb_focus}, now_ms, r);
      for (size_t i = 0; i < body; ++i) {
        Line line = std::move(l[i]);
        line.text += "|";
        for (auto sp : r[i].spans) {
          sp.col += left + 1;
          line.spans.push_back(sp);
        }
        line.text += r[i].text;
        out.push_back(std::move(line));
      }
    } else {
      // Narrow: sandboxes on top (at most half), the network below.
      size_t top = std::min(body / 2, st.visible_sandboxes().size() + 3);
      top = std::max<size_t>(top, std::min<size_t>(body, 3));
      sandboxes_pane(st, {cols, top, sb_focus}, out);
      network_pane(st, {cols, body - top, !sb_focus}, now_ms, out);
    }
    if (form) create_form(st, cols, out);
  }
  out.resize(rows - 1, LineBuilder(cols).done());
  out.push_back(bottom_line(st, cols));
  if (out.size() > rows) out.erase(out.begin(), out.begin() + (out.size() - rows));
  return out;
}

}  // namespace sbx::tui
