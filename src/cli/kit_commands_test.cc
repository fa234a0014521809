#include "cli/kit_commands.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "base/fd.h"
#include "base/files.h"
#include "base/strings.h"

namespace sbx::cli {
namespace {

// `sbx kit` needs no daemon: these run the CLI with only a kits directory.
struct KitCliTest : ::testing::Test {
  void SetUp() override {
    ::setenv("SBX_KITS_DIR", SBX_SOURCE_KITS_DIR, 1);
    auto d = TempDir::create("cli-kit");
    ASSERT_TRUE(d);
    dir.emplace(std::move(*d));
    auto p = make_pipe();
    ASSERT_TRUE(p);
    pipe.emplace(std::move(*p));
  }
  void TearDown() override { ::unsetenv("SBX_KITS_DIR"); }
  int run(std::vector<std::string> args) {
    args.insert(args.begin(), "sbx");
    std::vector<const char*> argv;
    for (auto& a : args) argv.push_back(a.c_str());
    out.str("");
    err.str("");
    Console con{out, err, ExecIo{pipe->first.get(), pipe->second.get(), pipe->second.get()}};
    return run_cli(static_cast<int>(argv.size()), argv.data(), con);
  }
  std::string kit_dir(const std::string& name, const std::string& yaml) {
    std::string d = dir->path() + "/" + name;
    EXPECT_TRUE(make_dirs(d));
    EXPECT_TRUE(write_file_atomic(d + "/kit.yaml", yaml));
    return d;
  }
  std::optional<TempDir> dir;
  std::optional<std::pair<Fd, Fd>> pipe;
  std::ostringstream out, err;
};

TEST_F(KitCliTest, LsListsTheBuiltInKits) {
  ASSERT_EQ(run({"kit", "ls"}), 0) << err.str();
  auto lines = split(out.str(), '\n');
  ASSERT_GE(lines.size(), 7u) << out.str();
  EXPECT_TRUE(starts_with(lines[0], "NAME")) << lines[0];
  EXPECT_NE(lines[0].find("DESCRIPTION"), std::string::npos);
  std::string names;
  for (size_t i = 1; i < lines.size(); ++i)
    if (!lines[i].empty()) names += lines[i].substr(0, lines[i].find(' ')) + ",";
  EXPECT_EQ(names, "claude,codex,copilot,gemini,opencode,shell,");
  EXPECT_EQ(err.str(), "");
  ASSERT_EQ(run({"kit", "ls", "--json"}), 0);
  auto j = nlohmann::json::parse(out.str(), nullptr, false);
  ASSERT_TRUE(j.is_object()) << out.str();
  ASSERT_EQ(j["kits"].size(), 6u);
  EXPECT_EQ(j["kits"][0]["name"], "claude");
  EXPECT_EQ(j["kits"][0]["entry"][1], "--dangerously-skip-permissions");
  EXPECT_TRUE(j["problems"].empty());
}

TEST_F(KitCliTest, LsWarnsAboutBrokenKits) {
  kit_dir("good", "name: good\nkind: agent\nentry: [x]\n");
  kit_dir("bad", "name: bad\nkind: agent\nentry: x\n");
  ::setenv("SBX_KITS_DIR", dir->path().c_str(), 1);
  ASSERT_EQ(run({"kit", "ls"}), 0);
  EXPECT_NE(out.str().find("good"), std::string::npos);
  EXPECT_EQ(out.str().find("bad"), std::string::npos);
  EXPECT_NE(err.str().find("Warning: kit left out: " + *absolute_path(dir->path()) +
                           "/bad/kit.yaml:3:8: entry must be a list"),
            std::string::npos)
      << err.str();
  ::setenv("SBX_KITS_DIR", (dir->path() + "/nope").c_str(), 1);
  EXPECT_EQ(run({"kit", "ls"}), kExitFailure);
  EXPECT_NE(err.str().find("SBX_KITS_DIR"), std::string::npos);
}

TEST_F(KitCliTest, InspectByNameAndByDirectory) {
  ASSERT_EQ(run({"kit", "inspect", "codex"}), 0) << err.str();
  EXPECT_NE(out.str().find("Name:        codex\n"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("Entry:       codex --dangerously-bypass-approvals-and-sandbox\n"),
            std::string::npos);
  EXPECT_NE(out.str().find("  openai: $OPENAI_API_KEY as Authorization to api.openai.com\n"),
            std::string::npos);
  EXPECT_NE(out.str().find("Host config: ~/.codex/config.toml, ~/.codex/AGENTS.md\n"),
            std::string::npos);
  std::string mine = kit_dir("mine", "name: mine\nkind: agent\nentry: [my tool, -x]\n");
  ASSERT_EQ(run({"kit", "inspect", "--json", mine}), 0) << err.str();
  auto j = nlohmann::json::parse(out.str(), nullptr, false);
  ASSERT_TRUE(j.is_object()) << out.str();
  EXPECT_EQ(j["name"], "mine");
  EXPECT_EQ(j["entry"][0], "my tool");
  EXPECT_EQ(j["source"], *absolute_path(mine) + "/kit.yaml");
  ASSERT_EQ(run({"kit", "inspect", mine}), 0);
  EXPECT_NE(out.str().find("Entry:       'my tool' -x\n"), std::string::npos) << out.str();
  EXPECT_EQ(run({"kit", "inspect", "nosuch"}), kExitFailure);
  EXPECT_NE(err.str().find("Error: no kit 'nosuch'; built-in kits: claude, codex"),
            std::string::npos)
      << err.str();
}

TEST_F(KitCliTest, ValidateSaysValidOrListsFileLineErrors) {
  std::string good = kit_dir("good", "name: good\nkind: agent\nentry: [x]\n");
  ASSERT_EQ(run({"kit", "validate", good}), 0) << err.str();
  EXPECT_EQ(out.str(), *absolute_path(good) + "/kit.yaml: kit 'good' is valid\n");
  std::string bad =
      kit_dir("bad", "name: Bad\nkind: agent\nentrypoint: [x]\nallow: [NOT A DOMAIN]\n");
  EXPECT_EQ(run({"kit", "validate", bad}), 1);
  std::string f = *absolute_path(bad) + "/kit.yaml";
  // One line per problem, in file order.
  EXPECT_EQ(err.str(), f +
                           ":1:1: missing 'entry': the command the sandbox runs, e.g. "
                           "entry: [bash, -l]\n" +
                           f +
                           ":1:7: name 'Bad' is not valid: 1-32 lower-case letters, digits "
                           "and '-', starting with a letter\n" +
                           f + ":3:1: kit: unknown key 'entrypoint'; did you mean 'entry'?\n" + f +
                           ":4:9: allow: 'NOT A DOMAIN' is not a domain; write e.g. "
                           "api.example.com or *.example.com\n"
                           "Error: the kit in '" +
                           bad + "' is not valid (4 problems)\n");
  EXPECT_EQ(run({"kit", "validate", dir->path() + "/none"}), 1);
  EXPECT_NE(err.str().find("does not exist"), std::string::npos);
  // Every built-in kit validates.
  for (auto& name : {"shell", "claude", "codex", "gemini", "copilot", "opencode"})
    EXPECT_EQ(run({"kit", "validate", std::string(SBX_SOURCE_KITS_DIR) + "/" + name}), 0)
        << name << ": " << err.str();
}

TEST_F(KitCliTest, BlueprintIsTheOldNameOfKit) {
  ASSERT_EQ(run({"kit", "ls"}), 0);
  std::string kit_out = out.str();
  ASSERT_EQ(run({"blueprint", "ls"}), 0) << err.str();
  EXPECT_EQ(out.str(), kit_out);
  ASSERT_EQ(run({"blueprint", "inspect", "gemini"}), 0);
  EXPECT_NE(out.str().find("Entry:       gemini --yolo\n"), std::string::npos);
  ASSERT_EQ(run({"blueprint", "--help"}), 0);
  EXPECT_NE(out.str().find("'blueprint' is the old name of 'kit'"), std::string::npos) << out.str();
  ASSERT_EQ(run({"--help"}), 0);
  EXPECT_NE(out.str().find("Old name of 'sbx kit'"), std::string::npos);
  EXPECT_EQ(run({"kit"}), kExitFailure);  // a subcommand is required
}

}  // namespace
}  // namespace sbx::cli
