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

TEST(Format, ErrorsArePrefixed) { EXPECT_EQ(format_error("boom"), "Error: boom\n"); }

}  // namespace
}  // namespace sbx::cli
