#include "daemon/template_service.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

#include "daemon/kit_catalog.h"

namespace sbx::daemon {
namespace {

kit::Kit test_kit() {
  auto k = builtin_kit("sbx-test", /*test_kits=*/true);
  EXPECT_TRUE(k.has_value());
  return *k;
}

TEST(KitLayerId, ChangesWithEverythingTheInstallDependsOn) {
  auto base = kit_layer_id("parent-1", test_kit());
  EXPECT_EQ(base, kit_layer_id("parent-1", test_kit()));  // stable
  EXPECT_NE(base, kit_layer_id("parent-2", test_kit()));
  auto k = test_kit();
  k.install.push_back("true");
  EXPECT_NE(base, kit_layer_id("parent-1", k));
  k = test_kit();
  k.env["X"] = "1";
  EXPECT_NE(base, kit_layer_id("parent-1", k));
  k = test_kit();
  k.files[0].content = "other";
  EXPECT_NE(base, kit_layer_id("parent-1", k));
  k = test_kit();
  k.node = "22.11.0";
  EXPECT_NE(base, kit_layer_id("parent-1", k));
  // Steps are fields: moving text between two steps is another build.
  k = test_kit();
  k.install = {"ab", "c"};
  auto k2 = test_kit();
  k2.install = {"a", "bc"};
  EXPECT_NE(kit_layer_id("p", k), kit_layer_id("p", k2));
}

TEST(KitLayerId, IgnoresWhatDoesNotChangeTheDisk) {
  auto base = kit_layer_id("parent-1", test_kit());
  auto k = test_kit();
  k.entry = {"other"};
  k.allow = {"example.com"};
  k.description = "changed";
  EXPECT_EQ(base, kit_layer_id("parent-1", k));
}

TEST(KitCatalog, TestKitOnlyWhenAskedFor) {
  EXPECT_TRUE(builtin_kit("shell", false).has_value());
  EXPECT_FALSE(builtin_kit("sbx-test", false).has_value());
  EXPECT_TRUE(builtin_kit("sbx-test", true).has_value());
  EXPECT_FALSE(builtin_kit("nope", true).has_value());
  EXPECT_EQ(builtin_kit_names(true).size(), 2u);
}

// sandboxd's lookup reads the shipped kits: an agent that pins Node gets
// one step that installs it and then runs the kit's own steps.
TEST(KitLookupTest, ShippedKitsComeFromTheCatalogWithTheirNodeInstall) {
  auto c = kit::KitCatalog::open(SBX_SOURCE_KITS_DIR);
  ASSERT_TRUE(c.ok()) << c.error().message;
  auto catalog = std::make_shared<const kit::KitCatalog>(std::move(*c));
  auto lookup = make_kit_lookup(catalog, /*test_kits=*/false);
  auto claude = lookup("claude");
  ASSERT_TRUE(claude.has_value());
  ASSERT_EQ(claude->install.size(), 1u);
  EXPECT_EQ(claude->install[0].rfind("bash <<'SBX_KIT_INSTALL'\n", 0), 0u) << claude->install[0];
  EXPECT_NE(claude->install[0].find("npm install -g @anthropic-ai/claude-code"), std::string::npos);
  EXPECT_EQ(claude->entry, (std::vector<std::string>{"claude", "--dangerously-skip-permissions"}));
  EXPECT_FALSE(lookup("sbx-test").has_value());
  EXPECT_FALSE(lookup("nope").has_value());
  auto names = kit_names(catalog.get(), false);
  for (const char* n : {"claude", "codex", "copilot", "gemini", "opencode", "shell"})
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
  // No catalog: shell still works.
  EXPECT_TRUE(make_kit_lookup(nullptr, false)("shell").has_value());
}

}  // namespace
}  // namespace sbx::daemon
