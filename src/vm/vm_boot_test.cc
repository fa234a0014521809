// Boots a real guest under the configured accelerator. Needs a vmlinux and an
// initramfs whose /init prints "sbx-test-init done" after mounting the "ws"
// tag and writing hello-from-guest into it, then reboots (see
// docs/notes-vm.md). Set SBX_TEST_KERNEL and SBX_TEST_INITRD; skipped
// otherwise.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>

#include "base/child_process.h"
#include "base/files.h"
#include "vm/accel.h"
#include "vm/tsc.h"
#include "vm/vm_process.h"

namespace sbx::vm {
namespace {

using std::chrono::milliseconds;

class VmBootTest : public ::testing::TestWithParam<Workspace::Fs> {};

TEST_P(VmBootTest, BootsToInitAndSharesWorkspace) {
  const char* kernel = std::getenv("SBX_TEST_KERNEL");
  const char* initrd = std::getenv("SBX_TEST_INITRD");
  if (!kernel || !initrd) GTEST_SKIP() << "SBX_TEST_KERNEL/SBX_TEST_INITRD unset";
  auto dir = TempDir::create("sbx-boot");
  ASSERT_TRUE(dir.ok());
  std::string ws = dir->path() + "/work,space";  // a comma, end to end
  ASSERT_TRUE(make_dirs(ws).ok());
  ASSERT_TRUE(write_file_atomic(ws + "/from-host", "host-data").ok());
  ASSERT_TRUE(run_checked({"qemu-img", "create", "-q", "-f", "qcow2",
                           dir->path() + "/disk.qcow2", "64M"}).ok());

  VmConfig c;
  const char* accel_env = std::getenv("SBX_ACCEL");
  auto accel = choose_accel(accel_env ? accel_env : "", probe_host());
  ASSERT_TRUE(accel.ok()) << accel.error().message;
  c.accel = *accel;
  auto tsc = host_tsc_khz();
  ASSERT_TRUE(tsc.ok()) << tsc.error().message;
  c.tsc_khz = *tsc;
  c.cpus = 1;
  c.memory_mib = 256;
  c.kernel = kernel;
  c.initrd = initrd;
  c.disk = dir->path() + "/disk.qcow2";
  c.workspace = Workspace{ws, "ws", GetParam(), dir->path() + "/vfs.sock"};
  c.agent_socket = dir->path() + "/agent.sock";
  c.qmp_socket = dir->path() + "/qmp.sock";
  c.console_log = dir->path() + "/console.log";
  c.pid_file = dir->path() + "/qemu.pid";

  Logger log(stderr, LogLevel::kWarn);
  auto t0 = std::chrono::steady_clock::now();
  auto vm = VmProcess::start(c, log);
  ASSERT_TRUE(vm.ok()) << vm.error().message;
  // Every boot path needs a timeout that reports the console, never a hang.
  auto done = vm->wait_exit(milliseconds(90'000));
  auto wall = std::chrono::duration_cast<milliseconds>(
      std::chrono::steady_clock::now() - t0);
  ASSERT_TRUE(done.ok());
  if (!*done) (void)vm->kill();
  ASSERT_TRUE(*done) << "guest did not power off within 90 s; console:\n"
                     << vm->console_tail(30) << "\nqemu.log:\n"
                     << vm->qemu_log_tail(10);
  std::string console = vm->console_tail(40);
  EXPECT_NE(console.find("hello from guest"), std::string::npos) << console;
  EXPECT_NE(console.find("sbx-test-init done"), std::string::npos) << console;
  EXPECT_NE(console.find("vda: yes"), std::string::npos) << console;
  EXPECT_NE(console.find("vport: sbx.agent"), std::string::npos) << console;
  EXPECT_NE(console.find("host file: host-data"), std::string::npos) << console;
  EXPECT_NE(console.find(GetParam() == Workspace::Fs::kVirtiofs
                             ? "workspace: virtiofs"
                             : "workspace: 9p"),
            std::string::npos)
      << console;
  EXPECT_TRUE(path_exists(ws + "/hello-from-guest"));
  EXPECT_FALSE(vm->alive());
  EXPECT_TRUE(vm->kill().ok());  // reaps virtiofsd too
  std::printf("boot wall time (%s): %lld ms\n",
              GetParam() == Workspace::Fs::kVirtiofs ? "virtiofs" : "9p",
              static_cast<long long>(wall.count()));
}

INSTANTIATE_TEST_SUITE_P(Fs, VmBootTest,
                         ::testing::Values(Workspace::Fs::k9p,
                                           Workspace::Fs::kVirtiofs),
                         [](const auto& info) {
                           return std::string(info.param == Workspace::Fs::k9p
                                                  ? "NineP"
                                                  : "Virtiofs");
                         });

}  // namespace
}  // namespace sbx::vm
