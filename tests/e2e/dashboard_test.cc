// The dashboard (`sbx` alone on a terminal) against a real daemon and a real
// sandbox, on a real terminal (tmux): what a user sees and what each key
// does. The steps share one dashboard session and run in order, as a user's
// would.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "harness/fake_https_upstream.h"
#include "harness/sandbox_suite.h"
#include "harness/tmux_session.h"

namespace sbx::testing {
namespace {

using namespace std::chrono_literals;

const char* kHost = "watched.sbx-test.invalid";

FakeHttpsUpstream& upstream() {
  static FakeHttpsUpstream u([](const UpstreamRequest&) {
    return FakeHttpsUpstream::response("200 OK", "text/plain", "hello\n");
  });
  return u;
}

class Dashboard : public SandboxSuite<Dashboard> {
 public:
  static SandboxOptions options() {
    return {.name = "dash-t",
            .workspace = "dash-ws",
            .env = {{"SBX_TEST_UPSTREAM_OVERRIDE",
                     std::string(kHost) + ":443=127.0.0.1:" + std::to_string(upstream().port())}}};
  }
};

/// The newest network log entry for `host` in the sandbox, as JSON.
nlohmann::json newest(const std::string& host) {
  auto log = sbx({"policy", "log", "dash-t", "--json"});
  auto j = nlohmann::json::parse(log.out, nullptr, false);
  if (j.is_array())
    for (auto& e : j)  // newest first
      if (e.value("host", "") == host) return e;
  return {};
}

TEST_F(Dashboard, ListsMonitorsBlocksStopsAttachesAndQuitsCleanly) {
  ASSERT_TRUE(upstream().ok());
  ASSERT_EQ(sbx({"policy", "allow", "network", kHost}).code, 0);
  // After sbx: say how it exited, whether the terminal is back in
  // canonical mode with echo, and leave a shell to type into.
  TmuxSession t(sbx_cli_path() +
                    "; echo sbx-exit=$?; s=$(stty -a); case \"$s\" in *-icanon*|*-echo\\ *) "
                    "echo tty-raw;; *) echo tty-sane;; esac; exec sh",
                160, 45);
  ASSERT_TRUE(t.ok());

  // The sandbox is listed, running.
  ASSERT_TRUE(t.wait_for("Sandboxes (1)", 60s)) << t.screen();
  ASSERT_TRUE(t.wait_for("running", 30s)) << t.screen();
  EXPECT_NE(t.screen().find("dash-t"), std::string::npos) << t.screen();

  // A request made in the guest shows up in the monitor.
  auto curl = guest(std::string("curl -sk -m 20 -o /dev/null -w '%{http_code}' https://") + kHost +
                    "/first");
  EXPECT_EQ(curl.out, "200") << curl.all();
  ASSERT_TRUE(t.wait_for(kHost, 30s)) << t.screen();
  EXPECT_EQ(newest(kHost).value("verdict", ""), "allow");

  // Focus the network pane; the newest entry is selected; b, then s for
  // this sandbox, blocks the host, and the next request is denied.
  t.send_keys("Tab");
  t.send_keys("b", true);
  ASSERT_TRUE(t.wait_for("for [s]andbox dash-t or [g]lobally", 10s)) << t.screen();
  t.send_keys("s", true);
  ASSERT_TRUE(t.wait_for(std::string("Blocked ") + kHost + " for dash-t", 30s)) << t.screen();
  auto again = guest(std::string("curl -sk -m 20 -o /dev/null -w '%{http_code}' https://") + kHost +
                     "/second");
  EXPECT_NE(again.out, "200") << again.all();
  EXPECT_EQ(newest(kHost).value("verdict", ""), "deny") << newest(kHost).dump();
  ASSERT_TRUE(t.wait_for("BLOCK", 30s)) << t.screen();
  // For docs/dashboard.md: SBX_DASHBOARD_CAPTURE=FILE keeps this screen.
  if (const char* capture = std::getenv("SBX_DASHBOARD_CAPTURE"))
    std::ofstream(capture) << t.screen();

  // s on the sandbox pane stops it.
  t.send_keys("Tab");
  t.send_keys("s", true);
  ASSERT_TRUE(t.wait_for("Stopped dash-t", 120s)) << t.screen();
  auto ls = sbx({"inspect", "dash-t", "--json"});
  EXPECT_EQ(nlohmann::json::parse(ls.out, nullptr, false).value("status", ""), "stopped")
      << ls.all();

  // enter attaches (starting it again); when the session ends, the
  // dashboard comes back.
  t.send_keys("Enter");
  ASSERT_TRUE(t.wait_for("@dash-t:", 300s)) << t.screen();  // the shell prompt
  t.send_keys("echo inside-$((6*7))", true);
  t.send_keys("Enter");
  ASSERT_TRUE(t.wait_for("inside-42", 60s)) << t.screen();
  t.send_keys("exit", true);
  t.send_keys("Enter");
  ASSERT_TRUE(t.wait_for("Back from dash-t", 60s)) << t.screen();

  // q leaves a usable shell: canonical mode and echo are back.
  t.send_keys("q", true);
  ASSERT_TRUE(t.wait_for("sbx-exit=0", 30s)) << t.screen();
  ASSERT_TRUE(t.wait_for("tty-", 30s)) << t.screen();
  EXPECT_NE(t.screen().find("tty-sane"), std::string::npos) << t.screen();
  t.send_keys("echo sane-$((40+2))", true);
  t.send_keys("Enter");
  EXPECT_TRUE(t.wait_for("sane-42", 30s)) << t.screen();
}

TEST_F(Dashboard, WithoutATerminalBareSbxPrintsHelp) {
  auto r = sbx({});
  EXPECT_EQ(r.code, 0) << r.all();
  EXPECT_NE(r.out.find("Usage"), std::string::npos) << r.all();
  EXPECT_NE(r.out.find("tui"), std::string::npos) << r.all();
}

}  // namespace
}  // namespace sbx::testing
