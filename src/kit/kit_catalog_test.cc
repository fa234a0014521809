#include "kit/kit_catalog.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "base/files.h"

namespace sbx::kit {
namespace {

struct CatalogTest : ::testing::Test {
  void SetUp() override {
    auto d = TempDir::create("kit-cat");
    ASSERT_TRUE(d);
    dir.emplace(std::move(*d));
  }
  void add(const std::string& sub, const std::string& yaml) {
    ASSERT_TRUE(make_dirs(dir->path() + "/" + sub));
    ASSERT_TRUE(write_file_atomic(dir->path() + "/" + sub + "/kit.yaml", yaml));
  }
  std::optional<TempDir> dir;
};

TEST_F(CatalogTest, ListsValidKitsSortedAndReportsBrokenOnes) {
  add("zed", "name: zed\nkind: agent\nentry: [zed]\n");
  add("alpha", "name: alpha\nkind: agent\nentry: [alpha]\n");
  add("broken", "name: broken\nkind: agent\n");
  add("misnamed", "name: other\nkind: agent\nentry: [x]\n");
  ASSERT_TRUE(write_file_atomic(dir->path() + "/README.md", "not a kit\n"));
  auto c = KitCatalog::open(dir->path());
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->names(), (std::vector<std::string>{"alpha", "zed"}));
  ASSERT_EQ(c->problems().size(), 2u);
  EXPECT_NE(c->problems()[0].find("broken/kit.yaml:1:1: missing 'entry'"), std::string::npos)
      << c->problems()[0];
  EXPECT_NE(c->problems()[1].find("kit 'other' is in directory 'misnamed'"), std::string::npos);
  ASSERT_NE(c->find("zed"), nullptr);
  EXPECT_EQ(c->find("zed")->entry[0], "zed");
  EXPECT_EQ(c->find("nope"), nullptr);
}

TEST_F(CatalogTest, ResolvesNamesAndDirectories) {
  add("alpha", "name: alpha\nkind: agent\nentry: [alpha]\n");
  add("broken", "name: broken\nkind: agent\n");
  auto c = KitCatalog::open(dir->path());
  ASSERT_TRUE(c);
  auto byname = c->resolve("alpha");
  ASSERT_TRUE(byname) << byname.error().message;
  EXPECT_EQ(byname->name, "alpha");
  auto bydir = c->resolve(dir->path() + "/alpha");
  ASSERT_TRUE(bydir) << bydir.error().message;
  EXPECT_EQ(bydir->name, "alpha");
  auto missing = c->resolve("gamma");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, kNotFound);
  EXPECT_NE(missing.error().message.find("built-in kits: alpha"), std::string::npos);
  auto broken = c->resolve("broken");
  ASSERT_FALSE(broken);
  EXPECT_NE(broken.error().message.find("kit 'broken' is broken"), std::string::npos)
      << broken.error().message;
  EXPECT_TRUE(names_a_directory("./x"));
  EXPECT_TRUE(names_a_directory("."));
  EXPECT_TRUE(names_a_directory("a/b"));
  EXPECT_FALSE(names_a_directory("claude"));
}

TEST_F(CatalogTest, BuiltInDirectoryRule) {
  // SBX_KITS_DIR wins; it must exist.
  auto env = builtin_kits_dir(dir->path().c_str(), "/nonexistent/bin");
  ASSERT_TRUE(env) << env.error().message;
  EXPECT_EQ(*env, *absolute_path(dir->path()));
  auto bad = builtin_kits_dir((dir->path() + "/nope").c_str(), "/nonexistent/bin");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("SBX_KITS_DIR"), std::string::npos);
  // Otherwise EXE/../share/sbx/kits, as installed.
  ASSERT_TRUE(make_dirs(dir->path() + "/bin"));
  auto none = builtin_kits_dir(nullptr, dir->path() + "/bin");
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message.find("set SBX_KITS_DIR"), std::string::npos);
  ASSERT_TRUE(make_dirs(dir->path() + "/share/sbx/kits"));
  auto beside = builtin_kits_dir("", dir->path() + "/bin");
  ASSERT_TRUE(beside) << beside.error().message;
  EXPECT_EQ(*beside, *absolute_path(dir->path() + "/share/sbx/kits"));
}

TEST(BuiltInCatalog, TheBuildTreeFindsTheSourceKits) {
  // This test binary sits in build/bin, beside build/share/sbx/kits.
  ::unsetenv("SBX_KITS_DIR");
  auto c = KitCatalog::open_builtin();
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->dir(), *absolute_path(SBX_SOURCE_KITS_DIR));
  EXPECT_TRUE(c->problems().empty()) << c->problems()[0];
  EXPECT_EQ(c->names(), (std::vector<std::string>{"claude", "codex", "copilot", "gemini",
                                                  "opencode", "shell"}));
}

}  // namespace
}  // namespace sbx::kit
