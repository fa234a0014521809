#include "vm/jail.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fd.h"
#include "base/files.h"

namespace sbx::vm {
namespace {

std::string run_jailed_shell(const std::string& script, const JailOptions& o) {
  auto dir = TempDir::create("sbx-jail");
  EXPECT_TRUE(dir.ok());
  std::string log = dir->path() + "/out";
  Fd fd(::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  // A descriptor without CLOEXEC: the jail must still not pass it on.
  Fd leak(::open("/dev/null", O_RDONLY));
  auto pid = spawn_jailed({"/bin/sh", "-c", script}, fd.get(), o);
  EXPECT_TRUE(pid.ok()) << pid.error().message;
  if (!pid.ok()) return "";
  int st = 0;
  EXPECT_EQ(::waitpid(*pid, &st, 0), *pid);
  auto out = read_file(log);
  return out.ok() ? *out : "";
}

TEST(Jail, AppliesLimitsAndClosesDescriptors) {
  JailOptions o;
  o.max_open_files = 321;
  std::string out = run_jailed_shell(
      "grep NoNewPrivs /proc/self/status; ulimit -c; ulimit -n; "
      "ls /proc/self/fd | wc -l; "
      "[ $(cut -d' ' -f6 /proc/self/stat) = $$ ] && echo own-session",
      o);
  EXPECT_NE(out.find("NoNewPrivs:\t1"), std::string::npos) << out;
  EXPECT_NE(out.find("\n0\n321\n"), std::string::npos) << out;
  // ls sees 0,1,2 and its own directory fd: 4 in all, nothing inherited.
  EXPECT_NE(out.find("\n4\n"), std::string::npos) << out;
  EXPECT_NE(out.find("own-session"), std::string::npos) << out;
}

TEST(Jail, ReportsExecFailure) {
  Fd fd(::open("/dev/null", O_WRONLY | O_CLOEXEC));
  auto pid = spawn_jailed({"/nonexistent/qemu"}, fd.get(), {});
  ASSERT_FALSE(pid.ok());
  EXPECT_NE(pid.error().message.find("exec"), std::string::npos);
  EXPECT_NE(pid.error().message.find("No such file"), std::string::npos);
}

TEST(Jail, PrivateMountNamespaceWhenRoot) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  JailOptions o;
  o.private_mount_namespace = true;
  char ours[256] = {};
  ASSERT_GT(::readlink("/proc/self/ns/mnt", ours, sizeof ours - 1), 0);
  std::string out = run_jailed_shell("readlink /proc/self/ns/mnt", o);
  ASSERT_NE(out.find("mnt:["), std::string::npos) << out;
  EXPECT_EQ(out.find(ours), std::string::npos) << out << " vs " << ours;
}

TEST(Jail, PrivateNetworkNamespaceWhenRoot) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  JailOptions o;
  o.private_network_namespace = true;
  char ours[256] = {};
  ASSERT_GT(::readlink("/proc/self/ns/net", ours, sizeof ours - 1), 0);
  // Only "lo" exists in a fresh network namespace (/proc/self/net follows
  // the process's namespace; /sys/class/net would follow sysfs's mounter).
  std::string out = run_jailed_shell(
      "readlink /proc/self/ns/net; grep -c : /proc/self/net/dev; "
      "grep -q ' lo:' /proc/self/net/dev && echo has-lo", o);
  ASSERT_NE(out.find("net:["), std::string::npos) << out;
  EXPECT_EQ(out.find(ours), std::string::npos) << out;
  EXPECT_NE(out.find("\n1\nhas-lo"), std::string::npos) << out;
}

}  // namespace
}  // namespace sbx::vm
