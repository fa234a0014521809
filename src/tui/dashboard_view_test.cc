#include "tui/dashboard_view.h"

#include <gtest/gtest.h>

namespace sbx::tui {
namespace {

proto::SandboxInfo box(std::string name, std::string status) {
  proto::SandboxInfo s;
  s.name = std::move(name);
  s.agent = "claude";
  s.status = std::move(status);
  s.workspace = "/home/u/proj";
  s.memory_bytes = 4ull << 30;
  return s;
}

std::string screen(const std::vector<Line>& lines) {
  std::string out;
  for (auto& l : lines) out += l.text + "\n";
  return out;
}

bool has_style(const Line& l, const std::string& word, Style s) {
  auto at = l.text.find(word);
  for (auto& sp : l.spans)
    if (sp.style == s && sp.col <= at && at < sp.col + sp.len) return true;
  return false;
}

DashboardState sample() {
  DashboardState st;
  auto a = box("claude-proj", "running");
  a.cpu_percent = 37.4;
  a.rss_bytes = 512ull << 20;
  a.ports.push_back({"127.0.0.1", 8080, 80, "tcp"});
  st.set_sandboxes({a, box("shell-x", "stopped")});
  proto::NetworkLogEntry e;
  e.id = 1;
  e.time_ms = 1000;
  e.sandbox = "claude-proj";
  e.host = "evil.test";
  e.port = 443;
  e.allowed = false;
  st.add_entry(e);
  return st;
}

TEST(DashboardView, EveryLineIsExactlyTheTerminalWidth) {
  auto st = sample();
  for (auto [rows, cols] : {std::pair{40, 160}, std::pair{24, 80}, std::pair{5, 20}}) {
    auto lines = render(st, rows, cols, 5000);
    ASSERT_EQ(lines.size(), static_cast<size_t>(rows));
    for (auto& l : lines) {
      EXPECT_EQ(l.text.size(), static_cast<size_t>(cols)) << l.text;
      for (auto& sp : l.spans) EXPECT_LE(sp.col + sp.len, static_cast<size_t>(cols));
    }
  }
}

TEST(DashboardView, WideTerminalsShowThePanesSideBySide) {
  auto lines = render(sample(), 30, 160, 5000);
  auto text = screen(lines);
  // One row holds both the sandbox pane's title and the network pane's.
  bool side_by_side = false;
  for (auto& l : lines)
    if (l.text.find("Sandboxes (2)") != std::string::npos &&
        l.text.find("Network: live") != std::string::npos)
      side_by_side = true;
  EXPECT_TRUE(side_by_side) << text;
  EXPECT_NE(text.find("claude-proj"), std::string::npos);
  EXPECT_NE(text.find("37%"), std::string::npos) << text;
  EXPECT_NE(text.find("512 MiB"), std::string::npos) << text;
  EXPECT_NE(text.find("8080->80"), std::string::npos) << text;
  // The stopped sandbox shows its configured memory and no CPU.
  EXPECT_NE(text.find("4 GiB"), std::string::npos) << text;
}

TEST(DashboardView, NarrowTerminalsStackThePanes) {
  auto lines = render(sample(), 30, 80, 5000);
  int sandboxes = -1, network = -1;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].text.find("Sandboxes (2)") != std::string::npos) sandboxes = static_cast<int>(i);
    if (lines[i].text.find("Network: live") != std::string::npos) network = static_cast<int>(i);
  }
  ASSERT_GE(sandboxes, 0) << screen(lines);
  ASSERT_GT(network, sandboxes) << screen(lines);
}

TEST(DashboardView, BlockedRequestsStandOutAndGuestTextIsEscaped) {
  auto st = sample();
  proto::NetworkLogEntry e;
  e.id = 2;
  e.time_ms = 2000;
  e.sandbox = "claude-proj";
  e.host = "x\x1b[2J.test";
  e.allowed = true;
  st.add_entry(e);
  auto lines = render(st, 30, 160, 5000);
  bool blocked = false;
  for (auto& l : lines) {
    EXPECT_EQ(l.text.find('\x1b'), std::string::npos);
    if (l.text.find("evil.test") != std::string::npos)
      blocked = has_style(l, "BLOCK", Style::kBlocked);
  }
  EXPECT_TRUE(blocked) << screen(lines);
  EXPECT_NE(screen(lines).find("x\\x1b[2J.test"), std::string::npos) << screen(lines);
}

TEST(DashboardView, TheBottomLineAsksWhatTheModeNeeds) {
  auto st = sample();
  EXPECT_NE(render(st, 20, 160, 0).back().text.find("enter attach"), std::string::npos);
  st.handle_key('d');
  EXPECT_NE(render(st, 20, 160, 0).back().text.find("Delete sandbox 'claude-proj'"),
            std::string::npos);
  st.handle_key('n');
  st.handle_key('?');
  EXPECT_NE(screen(render(st, 30, 160, 0)).find("attach to the selected sandbox"),
            std::string::npos);
  st.handle_key('x');
  st.handle_key('c');
  auto text = screen(render(st, 30, 160, 0));
  EXPECT_NE(text.find("Create a sandbox"), std::string::npos) << text;
  EXPECT_NE(text.find("> Path"), std::string::npos) << text;
}

TEST(DashboardView, TheByHostViewCountsPerHost) {
  auto st = sample();
  st.handle_key(kKeyTab);
  st.handle_key('v');
  auto text = screen(render(st, 30, 160, 61000));
  EXPECT_NE(text.find("Network: by host"), std::string::npos) << text;
  EXPECT_NE(text.find("blocked"), std::string::npos) << text;
  EXPECT_NE(text.find("1m"), std::string::npos) << text;  // last seen a minute ago
}

}  // namespace
}  // namespace sbx::tui
