#include "kit/host_config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/files.h"
#include "kit/secret_patterns.h"

namespace sbx::kit {
namespace {

struct HostConfigTest : ::testing::Test {
  void SetUp() override {
    auto d = TempDir::create("kit-home");
    ASSERT_TRUE(d);
    root.emplace(std::move(*d));
    home = root->path() + "/home";
    ASSERT_TRUE(make_dirs(home));
  }
  void put(const std::string& rel, const std::string& content) {
    std::string p = home + "/" + rel;
    ASSERT_TRUE(make_dirs(p.substr(0, p.rfind('/'))));
    ASSERT_TRUE(write_file_atomic(p, content));
  }
  std::vector<std::string> copied(const std::vector<std::string>& wanted,
                                  const HostConfigLimits& l = {}) {
    std::vector<HostConfig> w;
    for (auto& x : wanted) w.push_back(HostConfig{x});
    last = select_host_config(w, home, l);
    std::vector<std::string> out;
    for (auto& f : last.files) out.push_back(f.path);
    return out;
  }
  std::string reason(const std::string& rel) {
    for (auto& s : last.skipped)
      if (s.path == rel) return s.reason;
    return "";
  }
  std::optional<TempDir> root;
  std::string home;
  HostConfigSelection last;
};

TEST_F(HostConfigTest, CopiesSettingsAndDirectoriesButNotTokens) {
  put(".claude/settings.json", "{\"model\": \"opus\", \"apiKeyHelper\": \"/bin/key.sh\"}\n");
  put(".claude/CLAUDE.md", "Always run the tests. Use task-list-management-and-more here.\n");
  put(".claude/agents/reviewer.md", "You review code.\n");
  put(".claude/agents/leaky.md", "use ANTHROPIC_API_KEY=sk-ant-api03-AAAAAAAAAAAAAAAAAAAAAAAA\n");
  put(".claude/.credentials.json", "{\"claudeAiOauth\": {}}\n");
  auto files = copied({".claude/settings.json", ".claude/CLAUDE.md", ".claude/agents/",
                       ".claude/missing.json", ".claude/.credentials.json"});
  EXPECT_EQ(files, (std::vector<std::string>{".claude/CLAUDE.md", ".claude/agents/reviewer.md",
                                             ".claude/settings.json"}));
  EXPECT_NE(reason(".claude/agents/leaky.md").find("Anthropic API key"), std::string::npos);
  EXPECT_EQ(reason(".claude/agents/leaky.md").find("AAAA"), std::string::npos)
      << "a reason never quotes the token";
  EXPECT_NE(reason(".claude/.credentials.json").find("credentials"), std::string::npos);
  EXPECT_EQ(reason(".claude/missing.json"), "") << "absent files are not noise";
  ASSERT_EQ(last.files.size(), 3u);
  EXPECT_EQ(last.files[2].content, "{\"model\": \"opus\", \"apiKeyHelper\": \"/bin/key.sh\"}\n");
}

TEST_F(HostConfigTest, EveryTokenShapeIsRefused) {
  std::vector<std::string> leaks = {
      "key = \"sk-proj-abcdefghijklmnopqrstuvwxyz\"\n",
      "ghp_abcdefghijklmnopqrstuvwxyz0123456789\n",
      "token: github_pat_11ABCDEFG0123456789_abcdefghijklmnop\n",
      "{\"key\": \"AIzaSyA-abcdefghijklmnopqrstuvwxyz012345\"}\n",
      "{\"access_token\": \"x\"}\n",
      "{\"refresh_token\": \"x\"}\n",
      "api_key = \"0123456789abcdef\"\n",
      "{\"apiKey\": \"0123456789abcdef\"}\n",
      "Authorization: Bearer abcdefghijklmnopqrstuvwxyz0123\n",
      "-----BEGIN OPENSSH PRIVATE KEY-----\n",
      "//registry.npmjs.org/:_authToken=npm_abc\n",
  };
  for (auto& l : leaks) EXPECT_TRUE(secret_content_reason(l).has_value()) << l;
  std::vector<std::string> fine = {
      "[model_providers.x]\nenv_key = \"OPENAI_API_KEY\"\n",
      "Ask for the api_key from the user; never store it.\n",
      "{\"apiKeyHelper\": \"~/bin/anthropic-key.sh\"}\n",
      "run task-management-and-other-things-here\n",
      "Use Bearer tokens in the Authorization header.\n",
  };
  for (auto& f : fine) EXPECT_FALSE(secret_content_reason(f).has_value()) << f;
  EXPECT_TRUE(secret_name_reason(".codex/auth.json"));
  EXPECT_TRUE(secret_name_reason(".claude/.credentials.json"));
  EXPECT_TRUE(secret_name_reason(".config/gh/hosts-token"));
  EXPECT_TRUE(secret_name_reason("proj/.env"));
  EXPECT_TRUE(secret_name_reason(".ssh/id_ed25519"));
  EXPECT_FALSE(secret_name_reason(".codex/config.toml"));
  EXPECT_FALSE(secret_name_reason(".claude/settings.json"));
}

TEST_F(HostConfigTest, SymlinksStayInsideHome) {
  ASSERT_TRUE(write_file_atomic(root->path() + "/outside.json", "{}\n"));
  put("dotfiles/gemini.md", "Be brief.\n");
  ASSERT_TRUE(make_dirs(home + "/.gemini"));
  ASSERT_EQ(::symlink((root->path() + "/outside.json").c_str(),
                      (home + "/.gemini/settings.json").c_str()),
            0);
  ASSERT_EQ(::symlink("../dotfiles/gemini.md", (home + "/.gemini/GEMINI.md").c_str()), 0);
  auto files = copied({".gemini/settings.json", ".gemini/GEMINI.md"});
  EXPECT_EQ(files, std::vector<std::string>{".gemini/GEMINI.md"});
  EXPECT_EQ(last.files[0].content, "Be brief.\n");
  EXPECT_NE(reason(".gemini/settings.json").find("outside home"), std::string::npos);
}

TEST_F(HostConfigTest, SizesCountsAndSpecialFilesAreBounded) {
  put(".a/big.md", std::string(2000, 'x'));
  put(".a/one.md", "1");
  put(".a/two.md", "2");
  put(".a/three.md", "3");
  ASSERT_EQ(::mkfifo((home + "/.a/pipe").c_str(), 0600), 0);
  HostConfigLimits l;
  l.max_file_bytes = 1000;
  l.max_files = 2;
  auto files = copied({".a/"}, l);
  EXPECT_EQ(files, (std::vector<std::string>{".a/one.md", ".a/three.md"}));
  EXPECT_NE(reason(".a/big.md").find("over the 1000-byte limit"), std::string::npos);
  EXPECT_NE(reason(".a/pipe").find("not a regular file"), std::string::npos);
  EXPECT_NE(reason(".a/two.md").find("more than 2 files"), std::string::npos);
  l = {};
  l.max_total_bytes = 2;
  files = copied({".a/one.md", ".a/two.md", ".a/three.md"}, l);
  EXPECT_EQ(files.size(), 2u);
  EXPECT_NE(reason(".a/three.md").find("would exceed 2 bytes"), std::string::npos);
}

TEST_F(HostConfigTest, DirectoryLoopsEnd) {
  ASSERT_TRUE(make_dirs(home + "/.loop"));
  for (int i = 0; i < 8; ++i)
    ASSERT_EQ(::symlink(".", (home + "/.loop/l" + std::to_string(i)).c_str()), 0);
  put(".loop/f.md", "x");
  auto files = copied({".loop/"});
  EXPECT_FALSE(files.empty());
  EXPECT_LE(last.files.size(), HostConfigLimits{}.max_files);
}

TEST_F(HostConfigTest, NoHomeNoFiles) {
  std::vector<HostConfig> w = {HostConfig{".x"}};
  auto s = select_host_config(w, root->path() + "/nohome");
  EXPECT_TRUE(s.files.empty());
  EXPECT_TRUE(select_host_config({HostConfig{"../etc/passwd"}}, home).files.empty());
}

}  // namespace
}  // namespace sbx::kit
