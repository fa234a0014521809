#include "cli/arguments.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "base/files.h"

namespace sbx::cli {
namespace {

TEST(Arguments, MemoryParsesUnitsAndRejectsJunk) {
  ASSERT_TRUE(parse_memory("512m"));
  EXPECT_EQ(*parse_memory("512m"), 512ull << 20);
  EXPECT_EQ(*parse_memory("8g"), 8ull << 30);
  auto bad = parse_memory("abc");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "invalid memory size 'abc': use e.g. 512m or 8g");
  EXPECT_FALSE(parse_memory("0"));
  EXPECT_FALSE(parse_memory("12x"));
}

TEST(Arguments, WorkspaceMustExistAndIsMadeAbsolute) {
  auto dir = TempDir::create("cli-ws");
  ASSERT_TRUE(dir);
  auto ws = resolve_workspace(dir->path());
  ASSERT_TRUE(ws) << ws.error().message;
  EXPECT_EQ((*ws)[0], '/');

  auto missing = resolve_workspace(dir->path() + "/nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "workspace path '" + *ws + "/nope' does not exist");

  ASSERT_TRUE(write_file_atomic(dir->path() + "/file", "x"));
  auto file = resolve_workspace(dir->path() + "/file");
  ASSERT_FALSE(file);
  EXPECT_NE(file.error().message.find("is not a directory"), std::string::npos);

  auto dot = resolve_workspace(".");
  ASSERT_TRUE(dot);
  EXPECT_EQ((*dot)[0], '/');
}

TEST(Arguments, WorkdirMustBeAbsolute) {
  EXPECT_TRUE(check_workdir(""));
  EXPECT_TRUE(check_workdir("/home/agent"));
  auto r = check_workdir("src");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("'src' must be an absolute path"), std::string::npos);
}

TEST(Arguments, AgentsAreChecked) {
  EXPECT_TRUE(check_agent("shell"));
  EXPECT_TRUE(check_agent("claude"));
  EXPECT_TRUE(check_agent("my-kit"));  // the daemon knows kits; only the name's shape here
  auto r = check_agent("Bad/Agent");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("invalid agent name 'Bad/Agent'"), std::string::npos);
}

TEST(Arguments, EnvFlagsAndFiles) {
  auto kv = parse_env_flag("A=1=2");
  ASSERT_TRUE(kv);
  ASSERT_EQ(kv->size(), 1u);
  EXPECT_EQ((*kv)[0], "A=1=2");
  EXPECT_FALSE(parse_env_flag("=x"));

  ::setenv("SBX_CLI_TEST_VAR", "copied", 1);
  auto copy = parse_env_flag("SBX_CLI_TEST_VAR");
  ASSERT_TRUE(copy);
  ASSERT_EQ(copy->size(), 1u);
  EXPECT_EQ((*copy)[0], "SBX_CLI_TEST_VAR=copied");
  ::unsetenv("SBX_CLI_TEST_VAR");
  auto unset = parse_env_flag("SBX_CLI_TEST_VAR");
  ASSERT_TRUE(unset);
  EXPECT_TRUE(unset->empty());

  auto dir = TempDir::create("cli-env");
  ASSERT_TRUE(dir);
  std::string f = dir->path() + "/env";
  ASSERT_TRUE(write_file_atomic(f, "# comment\n\nX=1\n  Y=two words  \n"));
  auto env = read_env_file(f);
  ASSERT_TRUE(env) << env.error().message;
  ASSERT_EQ(env->size(), 2u);
  EXPECT_EQ((*env)[0], "X=1");
  EXPECT_EQ((*env)[1], "Y=two words");
  EXPECT_FALSE(read_env_file(dir->path() + "/missing"));
}

}  // namespace
}  // namespace sbx::cli
