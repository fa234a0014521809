// The workspace over virtio-fs instead of 9p (SBX_WORKSPACE_FS=virtiofs):
// the same sharing guarantees, through virtiofsd.
#include <gtest/gtest.h>

#include "base/files.h"
#include "base/strings.h"
#include "harness/sandbox_suite.h"

namespace sbx::testing {
namespace {

class Virtiofs : public SandboxSuite<Virtiofs> {
 public:
  static SandboxOptions options() {
    return {.name = "vfs",
            .workspace = "vfs ws",  // a space, end to end
            .create_flags = {"--memory", "768m"},
            .env = {{"SBX_WORKSPACE_FS", "virtiofs"}}};  // read by the daemon sbx starts
  }
};

TEST_F(Virtiofs, WorkspaceIsSharedBothWaysWithoutStaleReads) {
  const std::string& ws = Virtiofs::ws();
  auto mounts = sbx({"exec", "vfs", "--", "grep", "virtiofs", "/proc/mounts"});
  ASSERT_EQ(mounts.code, 0) << mounts.all();
  EXPECT_NE(mounts.out.find("ws"), std::string::npos) << mounts.out;

  auto g = sbx({"exec", "vfs", "--", "sh", "-c", "echo from-guest > \"$PWD/g.txt\" && pwd"});
  ASSERT_EQ(g.code, 0) << g.all();
  EXPECT_EQ(trim(g.out), ws);
  auto host = read_file(ws + "/g.txt");
  ASSERT_TRUE(host.ok());
  EXPECT_EQ(*host, "from-guest\n");
  for (const char* v : {"one\n", "two\n"}) {
    ASSERT_TRUE(write_file_atomic(ws + "/h.txt", v).ok());
    auto r = sbx({"exec", "vfs", "--", "cat", ws + "/h.txt"});
    EXPECT_EQ(r.out, v);
  }
  ASSERT_EQ(sbx({"rm", "-f", "vfs"}).code, 0);
  EXPECT_TRUE(host_pids_matching("virtiofsd").empty() || host_pids_matching(env().root()).empty())
      << "virtiofsd left behind";
}

}  // namespace
}  // namespace sbx::testing
