#include "tui/dashboard_state.h"

#include <gtest/gtest.h>

namespace sbx::tui {
namespace {

proto::SandboxInfo box(std::string name, std::string status = "running") {
  proto::SandboxInfo s;
  s.name = std::move(name);
  s.agent = "shell";
  s.status = std::move(status);
  s.workspace = "/w/" + s.name;
  return s;
}

proto::NetworkLogEntry entry(int64_t id, std::string host, bool allowed, std::string sandbox) {
  proto::NetworkLogEntry e;
  e.id = id;
  e.time_ms = id * 1000;
  e.host = std::move(host);
  e.allowed = allowed;
  e.sandbox = std::move(sandbox);
  return e;
}

void type(DashboardState& st, const std::string& text) {
  for (char c : text) st.handle_key(c);
}

TEST(DashboardState, KeysActOnTheSelectedSandbox) {
  DashboardState st;
  st.set_sandboxes({box("a"), box("b"), box("c")});
  EXPECT_EQ(st.handle_key(kKeyDown).kind, Command::kNone);
  auto c = st.handle_key(kKeyEnter);
  EXPECT_EQ(c.kind, Command::kAttach);
  EXPECT_EQ(c.sandbox, "b");
  EXPECT_EQ(st.handle_key('s').kind, Command::kStop);
  EXPECT_EQ(st.handle_key('r').sandbox, "b");
  st.handle_key('j');
  st.handle_key('j');  // stops at the last row
  EXPECT_EQ(st.handle_key('s').sandbox, "c");
  EXPECT_EQ(st.handle_key('q').kind, Command::kQuit);
}

TEST(DashboardState, TheSelectionFollowsItsSandboxAcrossRefreshes) {
  DashboardState st;
  st.set_sandboxes({box("a"), box("b")});
  st.handle_key(kKeyDown);
  st.set_sandboxes({box("0"), box("a"), box("b")});
  EXPECT_EQ(st.selected_sandbox()->name, "b");
  st.set_sandboxes({box("a")});  // gone: the cursor stays in range
  EXPECT_EQ(st.selected_sandbox()->name, "a");
  st.set_sandboxes({});
  EXPECT_EQ(st.selected_sandbox(), nullptr);
  EXPECT_EQ(st.handle_key('s').kind, Command::kNone);
  EXPECT_TRUE(st.status_is_error());
}

TEST(DashboardState, DeleteAsksFirstAndOnlyYesDeletes) {
  DashboardState st;
  st.set_sandboxes({box("a")});
  EXPECT_EQ(st.handle_key('d').kind, Command::kNone);
  EXPECT_EQ(st.mode(), DashboardState::Mode::kConfirmDelete);
  EXPECT_EQ(st.handle_key('n').kind, Command::kNone);
  EXPECT_EQ(st.mode(), DashboardState::Mode::kNormal);
  st.handle_key('d');
  auto c = st.handle_key('y');
  EXPECT_EQ(c.kind, Command::kDelete);
  EXPECT_EQ(c.sandbox, "a");
}

TEST(DashboardState, FilterNarrowsBothPanesAndEscapeClearsIt) {
  DashboardState st;
  st.set_sandboxes({box("web"), box("api")});
  st.add_entry(entry(1, "x.test", true, "web"));
  st.add_entry(entry(2, "y.test", true, "api"));
  st.handle_key('/');
  type(st, "web");
  EXPECT_EQ(st.visible_sandboxes().size(), 1u);
  EXPECT_EQ(st.visible_entries().size(), 1u);
  st.handle_key(kKeyEnter);
  EXPECT_EQ(st.filter(), "web");
  EXPECT_EQ(st.mode(), DashboardState::Mode::kNormal);
  st.handle_key('/');
  st.handle_key(kKeyEscape);
  EXPECT_EQ(st.filter(), "");
  EXPECT_EQ(st.visible_sandboxes().size(), 2u);
}

TEST(DashboardState, BlockingAHostAsksForItsScope) {
  DashboardState st;
  st.set_sandboxes({box("a")});
  st.add_entry(entry(1, "ok.test", true, "a"));
  st.add_entry(entry(2, "evil.test", true, "b"));
  // 'b' on the sandbox pane does nothing: it is a network key.
  EXPECT_EQ(st.handle_key('b').kind, Command::kNone);
  EXPECT_EQ(st.mode(), DashboardState::Mode::kNormal);
  st.handle_key(kKeyTab);
  EXPECT_EQ(st.focus(), DashboardState::Focus::kNetwork);
  st.handle_key('b');  // the newest entry is on top
  ASSERT_EQ(st.mode(), DashboardState::Mode::kScope);
  EXPECT_EQ(st.scope_host(), "evil.test");
  auto c = st.handle_key('s');
  EXPECT_EQ(c.kind, Command::kBlock);
  EXPECT_EQ(c.host, "evil.test");
  EXPECT_EQ(c.sandbox, "b");
  st.handle_key(kKeyDown);
  st.handle_key('a');
  auto g = st.handle_key('g');
  EXPECT_EQ(g.kind, Command::kAllow);
  EXPECT_EQ(g.host, "ok.test");
  EXPECT_EQ(g.sandbox, "");  // global
  st.handle_key('a');
  EXPECT_EQ(st.handle_key(kKeyEscape).kind, Command::kNone);
}

TEST(DashboardState, TheByHostViewGroupsAndItsKeysUseTheHost) {
  DashboardState st;
  st.add_entry(entry(1, "x.test", true, "a"));
  st.add_entry(entry(2, "x.test", false, "a"));
  st.add_entry(entry(3, "y.test", true, "c"));
  st.handle_key(kKeyTab);
  st.handle_key('v');
  EXPECT_EQ(st.net_view(), DashboardState::NetView::kByHost);
  auto hosts = st.visible_hosts();
  ASSERT_EQ(hosts.size(), 2u);
  EXPECT_EQ(hosts[0].host, "y.test");
  EXPECT_EQ(hosts[1].count, 2);
  st.handle_key(kKeyDown);
  st.handle_key('b');
  EXPECT_EQ(st.scope_host(), "x.test");
  EXPECT_EQ(st.scope_sandbox(), "a");
}

TEST(DashboardState, AConnectionsFinalUpdateReplacesItsEntry) {
  DashboardState st;
  st.add_entry(entry(5, "x.test", true, "a"));
  auto done = entry(5, "x.test", true, "a");
  done.finished = true;
  done.bytes_down = 99;
  st.add_entry(done);
  ASSERT_EQ(st.visible_entries().size(), 1u);
  EXPECT_EQ(st.visible_entries()[0]->bytes_down, 99u);
  for (int i = 0; i < static_cast<int>(DashboardState::kMaxEntries) + 10; ++i)
    st.add_entry(entry(100 + i, "h", true, "a"));
  EXPECT_EQ(st.visible_entries().size(), DashboardState::kMaxEntries);
}

TEST(DashboardState, TheCreateFormCollectsItsFields) {
  DashboardState st;
  st.handle_key('c');
  ASSERT_EQ(st.mode(), DashboardState::Mode::kCreate);
  EXPECT_EQ(st.create_field(), 1u);  // the path: the agent has a default
  type(st, "/tmp/p");
  st.handle_key(kKeyEnter);
  type(st, "mine");
  st.handle_key(kKeyTab);
  type(st, "2g");
  st.handle_key(kKeyUp);
  st.handle_key(kKeyUp);
  st.handle_key(kKeyUp);  // back to the agent
  for (int i = 0; i < 5; ++i) st.handle_key(kKeyBackspace);
  type(st, "claude");
  st.handle_key(kKeyDown);
  st.handle_key(kKeyDown);
  st.handle_key(kKeyDown);
  auto c = st.handle_key(kKeyEnter);
  ASSERT_EQ(c.kind, Command::kCreate);
  EXPECT_EQ(c.agent, "claude");
  EXPECT_EQ(c.path, "/tmp/p");
  EXPECT_EQ(c.sandbox, "mine");
  EXPECT_EQ(c.memory, "2g");
  st.handle_key('c');
  st.handle_key(kKeyEscape);
  EXPECT_EQ(st.mode(), DashboardState::Mode::kNormal);
}

TEST(DashboardState, PublishTakesASpecForTheSelectedSandbox) {
  DashboardState st;
  st.set_sandboxes({box("a")});
  st.handle_key('p');
  type(st, "8080:80");
  auto c = st.handle_key(kKeyEnter);
  EXPECT_EQ(c.kind, Command::kPublish);
  EXPECT_EQ(c.sandbox, "a");
  EXPECT_EQ(c.spec, "8080:80");
}

TEST(DashboardState, HelpOpensAndAnyKeyClosesIt) {
  DashboardState st;
  st.handle_key('?');
  EXPECT_EQ(st.mode(), DashboardState::Mode::kHelp);
  EXPECT_EQ(st.handle_key('q').kind, Command::kNone);  // closes help, does not quit
  EXPECT_EQ(st.mode(), DashboardState::Mode::kNormal);
}

TEST(Printable, EscapesControlsAndHighBytes) {
  EXPECT_EQ(printable("ok.test"), "ok.test");
  EXPECT_EQ(printable("a\x1b[2Jb\n"), "a\\x1b[2Jb\\n");
  EXPECT_EQ(printable("\x7f\xc2\x9b"), "\\x7f\\xc2\\x9b");
}

}  // namespace
}  // namespace sbx::tui
