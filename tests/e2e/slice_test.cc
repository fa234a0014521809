// The vertical slice, end to end: sbx create boots a real microVM (TCG
// here) with the workspace at the same absolute path; exec, ls, stop and rm
// behave, and bad input is refused clearly without losing anything.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "base/files.h"
#include "base/paths.h"
#include "base/strings.h"
#include "harness/sandbox_suite.h"

namespace sbx::testing {
namespace {

class SliceTest : public SandboxSuite<SliceTest> {
 public:
  static SandboxOptions options() {
    return {.name = "slice", .workspace = "sbx-test", .guest_user = ""};
  }
};

TEST_F(SliceTest, CreatePrintsTheSeedShape) {
  EXPECT_NE(create_result().out.find("✓ Created sandbox 'slice'"), std::string::npos)
      << create_result().out;
  EXPECT_NE(create_result().out.find("Workspace: " + ws() + " (direct mount)"), std::string::npos);
  EXPECT_NE(create_result().out.find("Agent: shell"), std::string::npos);
  EXPECT_NE(create_result().out.find("sbx run slice"), std::string::npos);
}

TEST_F(SliceTest, GuestRunsItsOwnKernel) {
  auto g = guest("cat /proc/sys/kernel/random/boot_id; uname -r");
  ASSERT_EQ(g.code, 0) << g.all();
  auto host_boot = read_file("/proc/sys/kernel/random/boot_id");
  ASSERT_TRUE(host_boot.ok());
  auto lines = split(trim(g.out), '\n');
  ASSERT_EQ(lines.size(), 2u) << g.out;
  EXPECT_NE(lines[0], trim(*host_boot)) << "same boot id: not a separate kernel";
  EXPECT_TRUE(ends_with(lines[1], "-amd64")) << lines[1];  // Debian's generic kernel
}

TEST_F(SliceTest, WorkspaceIsSharedAtTheSamePathBothWays) {
  auto g = guest("cd " + ws() + " && echo from-guest > guest.txt && pwd");
  ASSERT_EQ(g.code, 0) << g.all();
  auto host = read_file(ws() + "/guest.txt");
  ASSERT_TRUE(host.ok()) << host.error().message;
  EXPECT_EQ(*host, "from-guest\n");

  ASSERT_TRUE(write_file_atomic(ws() + "/host.txt", "from-host\n").ok());
  auto r = guest("cat " + ws() + "/host.txt");
  ASSERT_EQ(r.code, 0) << r.all();
  EXPECT_EQ(r.out, "from-host\n");

  // An edit on the host is seen at once: no stale cached read.
  ASSERT_TRUE(write_file_atomic(ws() + "/host.txt", "edited\n").ok());
  r = guest("cat " + ws() + "/host.txt");
  EXPECT_EQ(r.out, "edited\n");
}

TEST_F(SliceTest, DefaultWorkingDirectoryIsTheWorkspace) {
  auto r = guest("pwd");
  ASSERT_EQ(r.code, 0) << r.all();
  EXPECT_EQ(trim(r.out), ws());
}

TEST_F(SliceTest, HostFilesOutsideTheWorkspaceAreInvisible) {
  std::string secret = env().root() + "/outside-secret.txt";
  ASSERT_TRUE(write_file_atomic(secret, "host secret\n").ok());
  auto r = guest("test -e " + secret + " && echo visible || echo invisible");
  ASSERT_EQ(r.code, 0) << r.all();
  EXPECT_NE(r.out.find("invisible"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("host secret"), std::string::npos);
  // The host's own home is not there either.
  std::string home_marker = home_dir() + "/.sbx-e2e-marker";
  ASSERT_TRUE(write_file_atomic(home_marker, "x").ok());
  auto h = guest("test -e " + home_marker + " && echo leak || echo ok");
  ::unlink(home_marker.c_str());
  EXPECT_EQ(h.out, "ok\n");
}

TEST_F(SliceTest, GuestProcessesAreNotHostProcesses) {
  auto r = guest("sleep 31337 >/dev/null 2>&1 & echo started");
  ASSERT_EQ(r.code, 0) << r.all();
  auto g = guest("ps -eo args | grep -c '^sleep 31337'");
  EXPECT_EQ(trim(g.out), "1") << g.all();
  EXPECT_TRUE(host_pids_matching("sleep 31337").empty());
  (void)guest("pkill -f 'sleep 31337'");
}

TEST_F(SliceTest, ExitCodesPropagate) {
  EXPECT_EQ(guest("exit 7").code, 7);
  EXPECT_EQ(guest("kill -TERM $$").code, 143);
  auto nf = sbx({"exec", "slice", "--", "no-such-command-xyz"});
  EXPECT_EQ(nf.code, 127) << nf.all();
  EXPECT_NE(nf.err.find("no-such-command-xyz"), std::string::npos) << nf.err;
}

TEST_F(SliceTest, ExecPassesEnvUserAndWorkdir) {
  auto r = sbx({"exec", "-e", "GREETING=hello there", "-w", "/tmp", "-u", "agent", "slice", "--",
                "sh", "-c", "echo \"$GREETING\"; pwd; id -un"});
  ASSERT_EQ(r.code, 0) << r.all();
  EXPECT_EQ(r.out, "hello there\n/tmp\nagent\n");
}

TEST_F(SliceTest, StdinIsPassedWithDashI) {
  auto r = sbx({"exec", "-i", "slice", "--", "tr", "a-z", "A-Z"}, "shout\n");
  ASSERT_EQ(r.code, 0) << r.all();
  EXPECT_EQ(r.out, "SHOUT\n");
}

TEST_F(SliceTest, LsShowsTheSandbox) {
  auto r = sbx({"ls"});
  ASSERT_EQ(r.code, 0) << r.all();
  EXPECT_NE(r.out.find("SANDBOX"), std::string::npos);
  EXPECT_NE(r.out.find("WORKSPACE"), std::string::npos);
  EXPECT_NE(r.out.find("slice"), std::string::npos);
  EXPECT_NE(r.out.find("running"), std::string::npos);
  auto q = sbx({"ls", "-q"});
  EXPECT_EQ(q.out, "slice\n");
  auto j = sbx({"ls", "--json"});
  auto parsed = nlohmann::json::parse(j.out, nullptr, false);
  ASSERT_TRUE(parsed.is_array()) << j.out;
  ASSERT_EQ(parsed.size(), 1u);
  EXPECT_EQ(parsed[0]["name"], "slice");
  EXPECT_EQ(parsed[0]["status"], "running");
  EXPECT_EQ(parsed[0]["workspace"], ws());
}

TEST_F(SliceTest, BadInputIsRefusedClearly) {
  auto unknown = sbx({"exec", "ghost", "--", "true"});
  EXPECT_NE(unknown.code, 0);
  EXPECT_NE(unknown.err.find("'ghost' not found"), std::string::npos) << unknown.err;

  auto dup = sbx({"create", "--name", "slice", "shell", ws()});
  EXPECT_NE(dup.code, 0);
  EXPECT_NE(dup.err.find("already exists"), std::string::npos) << dup.err;

  auto missing = sbx({"create", "shell", env().root() + "/does-not-exist"});
  EXPECT_NE(missing.code, 0);
  EXPECT_NE(missing.err.find("does not exist"), std::string::npos) << missing.err;

  auto mem = sbx({"create", "--memory", "lots", "shell", ws()});
  EXPECT_NE(mem.code, 0);
  EXPECT_NE(mem.err.find("lots"), std::string::npos) << mem.err;

  // Nothing was lost or added by the failures.
  auto q = sbx({"ls", "-q"});
  EXPECT_EQ(q.out, "slice\n");
}

// Last by name order: stops the sandbox, restarts it through exec, then
// removes it and checks that nothing is left behind.
TEST_F(SliceTest, ZzStopRestartRemoveLeaveNothing) {
  ASSERT_EQ(guest("echo kept > /var/tmp/on-root-disk && sync").code, 0);
  auto st = sbx({"stop", "slice"});
  ASSERT_EQ(st.code, 0) << st.all();
  EXPECT_TRUE(qemu_pids_matching(env().root()).empty()) << "QEMU still running after stop";
  auto ls = sbx({"ls"});
  EXPECT_NE(ls.out.find("stopped"), std::string::npos) << ls.out;

  // exec starts a stopped sandbox first, and the root disk kept its change.
  auto r = guest("cat /var/tmp/on-root-disk");
  ASSERT_EQ(r.code, 0) << r.all();
  EXPECT_EQ(r.out, "kept\n");

  auto no_force = sbx({"rm", "slice"});
  EXPECT_NE(no_force.code, 0);
  EXPECT_NE(no_force.err.find("running"), std::string::npos) << no_force.err;

  auto rm = sbx({"rm", "-f", "slice"});
  ASSERT_EQ(rm.code, 0) << rm.all();
  EXPECT_TRUE(qemu_pids_matching(env().root()).empty());
  EXPECT_FALSE(path_exists(env().state_dir() + "/sandboxes/slice"));
  EXPECT_FALSE(path_exists(env().runtime_dir() + "/vms/slice"));
  EXPECT_EQ(sbx({"ls", "-q"}).out, "");
  // The workspace itself is the user's: never touched by rm.
  EXPECT_TRUE(path_exists(ws() + "/guest.txt"));
}

}  // namespace
}  // namespace sbx::testing
