// The agents CI does not build (label agent-slow: each layer is a few
// minutes of npm under TCG): every built-in agent kit but claude, which
// e2e_agents_test covers, is built in a guest over the shell template and
// its binary answers --version inside its sandbox as root and as the
// sandbox's user. Run with: ./scripts/test.sh -L agent-slow
#include <gtest/gtest.h>

#include "harness/harness.h"

namespace sbx::testing {
namespace {

struct Agent {
  const char* kit;
  const char* binary;
};

class AgentKits : public ::testing::TestWithParam<Agent> {
 protected:
  static void SetUpTestSuite() { env_ = std::make_unique<SbxEnv>(); }
  static void TearDownTestSuite() { env_.reset(); }
  static inline std::unique_ptr<SbxEnv> env_;
};

TEST_P(AgentKits, LayerBuildsAndTheAgentAnswersAsRootAndAsTheSandboxUser) {
  const Agent& a = GetParam();
  std::string name = std::string(a.kit) + "-slow";
  std::string ws = env_->make_workspace(name + "-ws");
  auto c = sbx({"create", "--name", name, "--memory", "1536m", a.kit, ws});
  ASSERT_EQ(c.code, 0) << c.all();
  for (const char* user : {"root", "agent"}) {
    auto v = sbx({"exec", "-u", user, name, "--", a.binary, "--version"});
    EXPECT_EQ(v.code, 0) << a.kit << " as " << user << ": " << v.all();
    EXPECT_FALSE(v.out.empty()) << a.kit << " as " << user << ": " << v.all();
  }
  EXPECT_EQ(sbx({"rm", "-f", name}).code, 0);
}

INSTANTIATE_TEST_SUITE_P(BuiltIn, AgentKits,
                         ::testing::Values(Agent{"codex", "codex"}, Agent{"gemini", "gemini"},
                                           Agent{"copilot", "copilot"},
                                           Agent{"opencode", "opencode"}),
                         [](const auto& info) { return std::string(info.param.kit); });

}  // namespace
}  // namespace sbx::testing
