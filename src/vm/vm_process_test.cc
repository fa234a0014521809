// VmProcess against real QEMU processes, without a guest kernel: a wrapper
// named qemu-system-fake drops -kernel/-initrd/-append and adds -S, then
// execs the real QEMU, so QEMU runs paused with the rest of our argv
// (sockets, -sandbox, devices) exactly as built.
#include "vm/vm_process.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "base/child_process.h"
#include "base/files.h"
#include "vm/qmp_client.h"

namespace sbx::vm {
namespace {

using std::chrono::milliseconds;

class VmProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (find_program("qemu-system-x86_64").empty()) GTEST_SKIP() << "no qemu";
    auto d = TempDir::create("sbx-vmp");
    ASSERT_TRUE(d.ok());
    dir_.emplace(std::move(*d));
    wrapper_ = dir_->path() + "/qemu-system-fake";
    ASSERT_TRUE(write_file_atomic(wrapper_, R"(#!/bin/sh
skip=0
for a in "$@"; do
  shift
  if [ $skip = 1 ]; then skip=0; continue; fi
  case "$a" in -kernel|-initrd|-append) skip=1; continue;; esac
  set -- "$@" "$a"
done
exec qemu-system-x86_64 -S "$@"
)", 0755).ok());
  }

  VmConfig config() const {
    VmConfig c;
    c.name = "test";
    c.qemu_binary = wrapper_;
    c.kernel = "/nonexistent/vmlinux";
    c.agent_socket = dir_->path() + "/agent.sock";
    c.qmp_socket = dir_->path() + "/qmp.sock";
    c.console_log = dir_->path() + "/console.log";
    c.pid_file = dir_->path() + "/qemu.pid";
    c.tsc_khz = 2'000'000;
    return c;
  }

  std::optional<TempDir> dir_;
  std::string wrapper_;
  Logger log_{stderr, LogLevel::kWarn};
};

TEST_F(VmProcessTest, StartAdoptKill) {
  VmConfig c = config();
  auto vm = VmProcess::start(c, log_);
  ASSERT_TRUE(vm.ok()) << vm.error().message;
  EXPECT_TRUE(vm->alive());
  EXPECT_EQ(vm->virtiofsd_pid(), 0);
  // QEMU writes its pid file; it must be the pid we hold (no wrapper fork).
  auto pidtext = read_file(c.pid_file);
  ASSERT_TRUE(pidtext.ok());
  EXPECT_EQ(std::stoi(*pidtext), vm->pid());

  auto qmp = QmpClient::connect(c.qmp_socket, milliseconds(5000));
  ASSERT_TRUE(qmp.ok()) << qmp.error().message;
  auto st = qmp->query_status();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(*st, "prelaunch");

  // The daemon "restarts": a second handle adopts the same VM.
  auto adopted = VmProcess::adopt(vm->pid(), 0, c);
  ASSERT_TRUE(adopted.ok()) << adopted.error().message;
  EXPECT_TRUE(adopted->alive());
  // Wrong QMP socket, or a pid that is not QEMU: refused.
  VmConfig other = c;
  other.qmp_socket = dir_->path() + "/other.sock";
  EXPECT_FALSE(VmProcess::adopt(vm->pid(), 0, other).ok());
  EXPECT_FALSE(VmProcess::adopt(::getpid(), 0, c).ok());

  auto w = vm->wait_exit(milliseconds(50));
  ASSERT_TRUE(w.ok());
  EXPECT_FALSE(*w);
  ASSERT_TRUE(adopted->kill().ok());
  EXPECT_FALSE(adopted->alive());
  auto gone = vm->wait_exit(milliseconds(5000));
  ASSERT_TRUE(gone.ok());
  EXPECT_TRUE(*gone);
  EXPECT_FALSE(vm->alive());
  // Reaped: no zombie left behind.
  EXPECT_FALSE(process_exists(vm->pid()));
  EXPECT_TRUE(vm->kill().ok());  // idempotent
}

TEST_F(VmProcessTest, DestructorLeavesVmRunning) {
  VmConfig c = config();
  pid_t pid = 0;
  {
    auto vm = VmProcess::start(c, log_);
    ASSERT_TRUE(vm.ok()) << vm.error().message;
    pid = vm->pid();
  }
  EXPECT_TRUE(process_exists(pid));
  auto again = VmProcess::adopt(pid, 0, c);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_TRUE(again->alive());
  ASSERT_TRUE(again->kill().ok());
  EXPECT_FALSE(again->alive());
}

TEST_F(VmProcessTest, QuitIsSeenAsExit) {
  VmConfig c = config();
  auto vm = VmProcess::start(c, log_);
  ASSERT_TRUE(vm.ok()) << vm.error().message;
  auto qmp = QmpClient::connect(c.qmp_socket, milliseconds(5000));
  ASSERT_TRUE(qmp.ok());
  ASSERT_TRUE(qmp->quit().ok());
  auto gone = vm->wait_exit(milliseconds(5000));
  ASSERT_TRUE(gone.ok());
  EXPECT_TRUE(*gone);
  EXPECT_FALSE(process_exists(vm->pid()));
}

TEST_F(VmProcessTest, StartupFailureQuotesQemuLog) {
  VmConfig c = config();
  c.qemu_binary = "qemu-system-x86_64";  // real one: the kernel is missing
  auto vm = VmProcess::start(c, log_);
  ASSERT_FALSE(vm.ok());
  EXPECT_NE(vm.error().message.find("exited during startup"), std::string::npos)
      << vm.error().message;
  EXPECT_NE(vm.error().message.find("/nonexistent/vmlinux"), std::string::npos)
      << vm.error().message;
}

TEST_F(VmProcessTest, ConsoleTail) {
  VmConfig c = config();
  ASSERT_TRUE(write_file_atomic(c.console_log, "one\r\ntwo\r\nthree\r\n").ok());
  EXPECT_EQ(file_tail(c.console_log, 2), "two\nthree");
  EXPECT_EQ(file_tail(c.console_log, 10), "one\ntwo\nthree");
  EXPECT_EQ(file_tail(c.console_log, 0), "");
  EXPECT_EQ(file_tail(dir_->path() + "/missing", 3), "");
}

}  // namespace
}  // namespace sbx::vm
