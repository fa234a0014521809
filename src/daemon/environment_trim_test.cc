#include "daemon/environment_trim.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <string>

namespace sbx::daemon {
namespace {

TEST(EnvironmentTrim, KeepsTheBasicsAndDropsKeys) {
  for (const char* k : {"PATH", "HOME", "SBX_STATE_DIR", "XDG_RUNTIME_DIR", "LC_ALL",
                        "SSL_CERT_FILE", "HTTPS_PROXY", "no_proxy"})
    EXPECT_TRUE(keeps_variable(k)) << k;
  for (const char* k : {"ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GH_TOKEN", "GITHUB_TOKEN",
                        "GEMINI_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN", "AWS_SECRET_ACCESS_KEY",
                        "SBX_", "PATHX", "npm_config__authToken"})
    EXPECT_FALSE(keeps_variable(k)) << k;
}

// In a child process: trimming changes the whole process's environment.
TEST(EnvironmentTrim, ChildrenInheritNoKey) {
  EXPECT_EXIT(
      {
        ::setenv("ANTHROPIC_API_KEY", "sk-ant-TRIM-MARKER", 1);
        ::setenv("SBX_TRIM_TEST", "kept", 1);
        auto removed = trim_environment();
        bool named = false;
        for (auto& n : removed) named |= n == "ANTHROPIC_API_KEY";
        // What a spawned child (QEMU) would see.
        FILE* p = ::popen("env", "r");
        std::string env;
        char buf[4096];
        size_t n;
        while (p && (n = fread(buf, 1, sizeof buf, p)) > 0) env.append(buf, n);
        if (p) ::pclose(p);
        bool ok = named && ::getenv("ANTHROPIC_API_KEY") == nullptr &&
                  env.find("TRIM-MARKER") == std::string::npos &&
                  env.find("SBX_TRIM_TEST=kept") != std::string::npos;
        std::_Exit(ok ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace sbx::daemon
