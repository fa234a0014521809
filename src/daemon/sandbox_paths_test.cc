#include "daemon/sandbox_paths.h"

#include <gtest/gtest.h>

namespace sbx::daemon {
namespace {

TEST(SandboxPaths, StateAndRuntimeAreSeparate) {
  Paths p;
  p.state = "/s";
  p.runtime = "/r";
  SandboxPaths s(p, "box");
  EXPECT_EQ(s.dir, "/s/sandboxes/box");
  EXPECT_EQ(s.disk, "/s/sandboxes/box/disk.qcow2");
  EXPECT_EQ(s.docker_disk, "/s/sandboxes/box/docker.img");
  EXPECT_EQ(s.console_log, "/s/sandboxes/box/console.log");
  EXPECT_EQ(s.runtime, "/r/vms/box");
  EXPECT_EQ(s.agent_socket, "/r/vms/box/agent.sock");
  EXPECT_EQ(s.qmp_socket, "/r/vms/box/qmp.sock");
  EXPECT_EQ(s.pid_file, "/r/vms/box/qemu.pid");
  EXPECT_EQ(s.virtiofs_socket, "/r/vms/box/virtiofs.sock");
}

}  // namespace
}  // namespace sbx::daemon
