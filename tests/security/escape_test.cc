// Escape attempts from inside a real guest (root in the VM): no network
// device or route, no device nodes or symlink tricks through the workspace
// share, nothing of the host beyond the workspace.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "base/files.h"
#include "base/strings.h"
#include "harness/sandbox_suite.h"

namespace sbx::testing {
namespace {

class EscapeTest : public SandboxSuite<EscapeTest> {
 public:
  static SandboxOptions options() {
    return {.name = "esc", .workspace = "esc-ws", .create_flags = {"--memory", "768m"}};
  }

 protected:
  static void SetUpTestSuite() {
    SandboxSuite::SetUpTestSuite();
    secret_ = env().root() + "/host-secret.txt";
    (void)write_file_atomic(secret_, "TOP-SECRET-HOST-DATA\n");
  }
  static inline std::string secret_;
};

TEST_F(EscapeTest, NoNetworkDeviceAndNoRouteOfItsOwn) {
  // No interface is backed by a device (a NIC would have one); the only
  // default route, if any, is the agent's dummy sbx0, whose traffic is
  // either redirected to the agent's proxy or rejected; no IPv6 route.
  auto r = guest(
      "for d in /sys/class/net/*; do [ -e $d/device ] && echo NIC:${d##*/}; done; "
      "ip -4 route show default; echo ---; ip -6 route; echo end; ip -d link show sbx0");
  ASSERT_EQ(r.code, 0) << r.all();
  EXPECT_EQ(r.out.find("NIC:"), std::string::npos) << r.out;
  std::string def = r.out.substr(0, r.out.find("---"));
  for (auto& line : split(trim(def), '\n'))
    EXPECT_NE(line.find("dev sbx0"), std::string::npos) << "a default route of its own: " << line;
  EXPECT_NE(r.out.find("dummy"), std::string::npos) << "sbx0 must be a dummy device: " << r.out;
  auto v6 = r.out.substr(r.out.find("---"));
  EXPECT_EQ(v6.substr(0, v6.find("end")), "---\n") << r.out;
  // A private address is neither routed nor intercepted: refused at once.
  auto c = guest("timeout 5 bash -c 'echo > /dev/tcp/10.0.2.2/22' 2>&1; echo rc=$?");
  EXPECT_EQ(c.out.find("rc=0"), std::string::npos) << c.out;
}

TEST_F(EscapeTest, NoDeviceNodesThroughTheWorkspace) {
  auto r = guest("mknod " + ws() + "/evil-blk b 8 0 2>&1; mknod " + ws() +
                 "/evil-chr c 1 3 2>&1; echo done");
  EXPECT_NE(r.out.find("done"), std::string::npos);
  for (auto name : {"/evil-blk", "/evil-chr"}) {
    struct stat st;
    if (::lstat((ws() + name).c_str(), &st) == 0) {
      EXPECT_FALSE(S_ISBLK(st.st_mode) || S_ISCHR(st.st_mode))
          << name << " is a device on the host";
    }
  }
}

TEST_F(EscapeTest, SymlinksResolveInsideTheGuest) {
  auto r = guest("ln -sf " + secret_ + " " + ws() + "/link-out; cat " + ws() +
                 "/link-out 2>&1; "
                 "ln -sf ../host-secret.txt " +
                 ws() + "/link-rel; cat " + ws() +
                 "/link-rel 2>&1; "
                 "cat " +
                 ws() + "/../host-secret.txt 2>&1; echo end");
  EXPECT_EQ(r.out.find("TOP-SECRET"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("end"), std::string::npos);
}

TEST_F(EscapeTest, HostFilesystemIsNotReachable) {
  auto r = guest(
      "grep -rl TOP-SECRET-HOST-DATA / --exclude-dir=proc --exclude-dir=sys 2>/dev/null | head -3; "
      "cat /proc/mounts");
  EXPECT_EQ(r.out.find(secret_), std::string::npos) << r.out;
  // Only the workspace comes from the host: one share, mounted at its path.
  EXPECT_NE(r.out.find(" " + ws() + " "), std::string::npos) << r.out;
}

TEST_F(EscapeTest, SandboxSocketsAreNotInTheGuest) {
  auto r = guest(
      "ls -la /run /tmp 2>&1; find / -name 'qmp.sock' -o -name 'sandboxd.sock' 2>/dev/null | "
      "grep -v ^/proc | head -3; echo end");
  EXPECT_EQ(r.out.find("qmp.sock"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("sandboxd.sock"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace sbx::testing
