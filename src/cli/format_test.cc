#include "cli/format.h"

#include <gtest/gtest.h>

#include "cli/terminal.h"

namespace sbx::cli {
namespace {

proto::SandboxInfo box(std::string name, std::string status, std::string ws) {
  proto::SandboxInfo s;
  s.name = std::move(name);
  s.agent = "shell";
  s.status = std::move(status);
  s.workspace = std::move(ws);
  return s;
}

TEST(Format, PortsJoinWithCommas) {
  EXPECT_EQ(format_ports({}), "");
  proto::PortMapping a{"127.0.0.1", 49152, 5000, "tcp"};
  proto::PortMapping b{"0.0.0.0", 8080, 80, "tcp"};
  EXPECT_EQ(format_ports({a, b}), "127.0.0.1:49152->5000/tcp, 0.0.0.0:8080->80/tcp");
}

TEST(Format, EmptyTableIsJustTheHeader) {
  EXPECT_EQ(format_sandbox_table({}), "SANDBOX   AGENT   STATUS   PORTS   WORKSPACE\n");
}

TEST(Format, TableColumnsAlign) {
  auto a = box("shell-sbx-test", "running", "/home/u/sbx-test");
  a.ports.push_back({"127.0.0.1", 49152, 5000, "tcp"});
  auto b = box("x", "stopped", "/w");
  std::string t = format_sandbox_table({a, b});
  EXPECT_EQ(t,
            "SANDBOX          AGENT   STATUS    PORTS                       WORKSPACE\n"
            "shell-sbx-test   shell   running   127.0.0.1:49152->5000/tcp   /home/u/sbx-test\n"
            "x                shell   stopped                               /w\n");
}

TEST(Format, CreatedMessageMatchesTheTranscript) {
  auto s = box("shell-sbx-test", "running", "/abs/path/sbx-test");
  EXPECT_EQ(format_created(s, false),
            "✓ Created sandbox 'shell-sbx-test'\n"
            "  Workspace: /abs/path/sbx-test (direct mount)\n"
            "  Agent: shell\n"
            "\n"
            "To connect to this sandbox, run:\n"
            "  sbx run shell-sbx-test\n");
  std::string coloured = format_created(s, true);
  EXPECT_EQ(coloured.rfind("\033[32m✓\033[0m Created", 0), 0u);
}

TEST(Format, ColourOnlyOnATerminalWithoutNoColor) {
  EXPECT_TRUE(use_colour(true, nullptr));
  EXPECT_FALSE(use_colour(false, nullptr));
  EXPECT_FALSE(use_colour(true, "1"));
  EXPECT_TRUE(use_colour(true, ""));  // no-color.org: empty means unset
}

proto::PortMapping port(uint16_t host, uint16_t sandbox) {
  proto::PortMapping p;
  p.host_port = host;
  p.sandbox_port = sandbox;
  return p;
}

TEST(Format, PublishedLinesFollowTheSeedTranscript) {
  EXPECT_EQ(format_published(port(49152, 5000)), "Published 127.0.0.1:49152 -> 5000/tcp\n");
  EXPECT_EQ(format_unpublished(port(49152, 5000)), "Unpublished 127.0.0.1:49152 -> 5000/tcp\n");
}

TEST(Format, PortTableHasHostAndSandboxColumns) {
  EXPECT_EQ(format_port_table({}), "HOST   SANDBOX PORT\n");
  EXPECT_EQ(format_port_table({port(49152, 5000), port(8080, 80)}),
            "HOST              SANDBOX PORT\n"
            "127.0.0.1:49152   5000/tcp\n"
            "127.0.0.1:8080    80/tcp\n");
}

TEST(Format, PruneSaysWhatGoesAndTheSpace) {
  proto::PruneResult r;
  r.sandboxes = {"old"};
  r.artifacts = {"template shell-abc"};
  r.bytes = 3ull << 30;
  r.dry_run = true;
  auto dry = format_prune(r);
  EXPECT_NE(dry.find("Would remove sandbox 'old'\n"), std::string::npos) << dry;
  EXPECT_NE(dry.find("Would remove template shell-abc\n"), std::string::npos) << dry;
  EXPECT_NE(dry.find("would be freed: "), std::string::npos) << dry;
  r.dry_run = false;
  auto done = format_prune(r);
  EXPECT_NE(done.find("Removed sandbox 'old'\n"), std::string::npos) << done;
  EXPECT_NE(done.find("Space freed: "), std::string::npos) << done;
  EXPECT_EQ(format_prune(proto::PruneResult{}).rfind("Nothing to prune\n", 0), 0u);
}

TEST(Format, InspectShowsStatusAndTheFailure) {
  auto s = box("b", "failed", "/w/b");
  s.ports = {port(49152, 5000)};
  s.error = "guest did not boot\n[ 1.0] console line";
  auto plain = format_inspect(s, false);
  EXPECT_NE(plain.find("Name:      b\n"), std::string::npos) << plain;
  EXPECT_NE(plain.find("Status:    failed\n"), std::string::npos) << plain;
  EXPECT_NE(plain.find("Ports:     127.0.0.1:49152->5000/tcp\n"), std::string::npos) << plain;
  EXPECT_NE(plain.find("Error:\n  guest did not boot\n  [ 1.0] console line\n"),
            std::string::npos) << plain;
  EXPECT_EQ(plain.find('\033'), std::string::npos);
  auto coloured = format_inspect(s, true);
  EXPECT_NE(coloured.find("\033[31mfailed\033[0m"), std::string::npos) << coloured;
  // A healthy sandbox has no error section.
  EXPECT_EQ(format_inspect(box("a", "running", "/w"), false).find("Error"), std::string::npos);
}

TEST(Format, InspectShowsTheNetworkMode) {
  auto s = box("a", "running", "/w");
  EXPECT_NE(format_inspect(s, false).find("Network:   by policy (see 'sbx policy ls')\n"),
            std::string::npos);
  s.deny_network = true;
  EXPECT_NE(format_inspect(s, false).find("Network:   denied (created with --deny-network)\n"),
            std::string::npos);
}

TEST(Format, NetworkLogTable) {
  NetworkLogRow c;
  c.time_ms = 1764615431000;  // 2025-12-01 18:57:11 UTC
  c.sandbox = "shell-a";
  c.kind = "forward";
  c.host = "api.example.com";
  c.port = 443;
  c.method = "CONNECT";
  c.allowed = true;
  c.rule = "allow api.example.com (global, id 3)";
  c.bytes_up = 2048;
  c.bytes_down = 3 << 20;
  c.finished = true;
  NetworkLogRow d;
  d.time_ms = 1764615430000;
  d.sandbox = "shell-a";
  d.kind = "dns";
  d.host = "evil.example";
  d.rule = "default policy balanced";
  NetworkLogRow g = c;
  g.kind = "transparent";
  g.host = "93.184.216.34";
  g.port = 80;
  g.method = "GET";
  g.path = "/a\x1b[2Jpath";
  g.finished = false;
  g.bytes_up = 10;
  g.bytes_down = 0;
  EXPECT_EQ(format_network_log({c, d, g}, false, true),
            "TIME                  SANDBOX   KIND          HOST              PORT   REQUEST"
            "          VERDICT   UP      DOWN    RULE\n"
            "2025-12-01 18:57:11   shell-a   forward       api.example.com   443    CONNECT"
            "          allow     2 KiB   3 MiB   allow api.example.com (global, id 3)\n"
            "2025-12-01 18:57:10   shell-a   dns           evil.example      -      -"
            "                deny      -       -       default policy balanced\n"
            "2025-12-01 18:57:11   shell-a   transparent   93.184.216.34     80     GET /a?[2Jpath"
            "   allow     10 B+   0 B+    allow api.example.com (global, id 3)\n");
  EXPECT_EQ(format_network_log({}, false, true),
            "TIME   SANDBOX   KIND   HOST   PORT   REQUEST   VERDICT   UP   DOWN   RULE\n");
  auto coloured = format_network_log({c, d}, true, true);
  EXPECT_NE(coloured.find("\033[32mallow\033[0m"), std::string::npos) << coloured;
  EXPECT_NE(coloured.find("\033[31mdeny\033[0m"), std::string::npos) << coloured;
  // The rule text that starts with "allow" stays uncoloured.
  EXPECT_NE(coloured.find("   allow api.example.com (global"), std::string::npos) << coloured;
}

TEST(Format, ErrorsArePrefixed) { EXPECT_EQ(format_error("boom"), "Error: boom\n"); }

}  // namespace
}  // namespace sbx::cli
