#include "daemon/vm_launcher.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "base/files.h"
#include "daemon/sandbox_paths.h"

namespace sbx::daemon {
namespace {

TEST(Cmdline, EscapesSpacesAndSpecials) {
  EXPECT_EQ(cmdline_escape("/home/u/my project"), "/home/u/my%20project");
  EXPECT_EQ(cmdline_escape("/a\"b=c"), "/a%22b%3Dc");
  EXPECT_EQ(cmdline_escape("/plain/path-1_2.x"), "/plain/path-1_2.x");
}

class VmLauncherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::create("sbx-vml");
    ASSERT_TRUE(d.ok());
    dir_.emplace(std::move(*d));
    cfg_.paths.runtime = dir_->path() + "/run";
    cfg_.paths.state = dir_->path() + "/state";
    cfg_.paths.cache = dir_->path() + "/cache";
    rec_.name = "box";
    rec_.workspace = "/home/u/my project";
    rec_.cpus = 2;
    rec_.memory_bytes = 1ull << 30;
  }
  std::optional<TempDir> dir_;
  DaemonConfig cfg_;
  Logger log_{stderr, LogLevel::kError};
  SandboxRecord rec_;
  VmLauncher::Artifacts art_{"/k/vmlinux", "/k/initrd", "/t/rootfs", "tid", 2000000};
};

TEST_F(VmLauncherTest, ConfigUsesTheSandboxPaths) {
  VmLauncher l(cfg_, log_);
  auto vc = l.vm_config(rec_, art_, vm::Accel::kTcg);
  SandboxPaths p(cfg_.paths, "box");
  EXPECT_EQ(vc.name, "sbx-box");
  EXPECT_EQ(vc.cpus, 2);
  EXPECT_EQ(vc.memory_mib, 1024u);
  EXPECT_EQ(vc.kernel, "/k/vmlinux");
  EXPECT_EQ(vc.initrd, "/k/initrd");
  EXPECT_EQ(vc.tsc_khz, 2000000u);
  EXPECT_EQ(vc.disk, p.disk);
  EXPECT_EQ(vc.agent_socket, p.agent_socket);
  EXPECT_EQ(vc.qmp_socket, p.qmp_socket);
  EXPECT_EQ(vc.pid_file, p.pid_file);
  EXPECT_EQ(vc.console_log, p.console_log);
  ASSERT_TRUE(vc.workspace.has_value());
  EXPECT_EQ(vc.workspace->host_path, "/home/u/my project");
  EXPECT_EQ(vc.workspace->virtiofsd_socket, p.virtiofs_socket);
  EXPECT_TRUE(vc.data_disk.empty());  // no docker volume made
}

TEST_F(VmLauncherTest, CmdlineCarriesWorkspaceAndIds) {
  VmLauncher l(cfg_, log_);
  auto vc = l.vm_config(rec_, art_, vm::Accel::kTcg);
  EXPECT_NE(vc.cmdline.find("sbx.name=box "), std::string::npos) << vc.cmdline;
  EXPECT_NE(vc.cmdline.find("sbx.ws_path=/home/u/my%20project "), std::string::npos);
  EXPECT_NE(vc.cmdline.find("sbx.ws_fs=9p"), std::string::npos);
  EXPECT_NE(vc.cmdline.find("sbx.uid=" + std::to_string(getuid())), std::string::npos);
  EXPECT_EQ(vc.cmdline.find("sbx.docker_disk"), std::string::npos);
}

TEST_F(VmLauncherTest, DockerVolumeAndVirtiofs) {
  cfg_.workspace_fs = "virtiofs";
  VmLauncher l(cfg_, log_);
  SandboxPaths p(cfg_.paths, "box");
  ASSERT_TRUE(make_dirs(p.dir).ok());
  ASSERT_TRUE(write_file_atomic(p.docker_disk, "").ok());
  auto vc = l.vm_config(rec_, art_, vm::Accel::kTcg);
  EXPECT_EQ(vc.data_disk, p.docker_disk);
  EXPECT_NE(vc.cmdline.find("sbx.docker_disk=/dev/vdb"), std::string::npos);
  EXPECT_NE(vc.cmdline.find("sbx.ws_fs=virtiofs"), std::string::npos);
  EXPECT_EQ(vc.workspace->fs, vm::Workspace::Fs::kVirtiofs);
}

TEST_F(VmLauncherTest, BootWithoutADiskChangesNothing) {
  VmLauncher l(cfg_, log_);
  bool starting = false;
  Launcher::BootHooks hooks;
  hooks.starting = [&] { starting = true; };
  auto r = l.boot(rec_, hooks);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("disk of sandbox 'box' is missing"), std::string::npos);
  EXPECT_FALSE(starting);
  EXPECT_EQ(l.current_template(), "");
}

TEST(ConsoleError, AppendsTheTailAsValidUtf8) {
  EXPECT_EQ(console_error("boom", ""), "boom");
  EXPECT_EQ(console_error("boom", "a\xff"), "boom; console tail:\na\xEF\xBF\xBD");
}

}  // namespace
}  // namespace sbx::daemon
