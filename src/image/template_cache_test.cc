#include "image/template_cache.h"

#include <gtest/gtest.h>

#include "base/files.h"

namespace sbx::image {
namespace {

const std::string kIdA = "0123456789abcdef0000";
const std::string kIdB = "fedcba98765432100000";

TEST(TemplateCache, NamesByKindAndShortId) {
  EXPECT_EQ(templates_dir("/c"), "/c/templates");
  EXPECT_EQ(template_dir_name("shell", kIdA), "shell-0123456789abcdef");
  EXPECT_TRUE(template_dir_holds(template_dir_name("shell", kIdA), kIdA));
  EXPECT_FALSE(template_dir_holds(template_dir_name("shell", kIdA), kIdB));
  EXPECT_FALSE(template_dir_holds(template_dir_name("shell", kIdA), ""));
}

class PruneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::create("sbx-tcache");
    ASSERT_TRUE(d.ok());
    dir_.emplace(std::move(*d));
    for (auto* n : {"shell-0123456789abcdef", "shell-fedcba9876543210", ".build-shell-x"}) {
      std::string p = templates_dir(cache()) + "/" + n;
      ASSERT_TRUE(make_dirs(p).ok());
      ASSERT_TRUE(write_file_atomic(p + "/rootfs.ext4", std::string(8192, 'x')).ok());
    }
  }
  std::string cache() const { return dir_->path(); }
  std::string tpath(const std::string& n) const { return templates_dir(cache()) + "/" + n; }
  std::optional<TempDir> dir_;
};

TEST_F(PruneTest, DryRunListsUnusedOnly) {
  auto r = prune_templates(cache(), {kIdA}, /*dry_run=*/true);
  ASSERT_EQ(r.paths.size(), 1u);
  EXPECT_EQ(r.paths[0], tpath("shell-fedcba9876543210"));
  EXPECT_GE(r.bytes, 8192u);
  EXPECT_TRUE(path_exists(tpath("shell-fedcba9876543210")));
}

TEST_F(PruneTest, RemovesUnusedAndKeepsBuildsInProgress) {
  auto r = prune_templates(cache(), {kIdB, ""}, /*dry_run=*/false);
  ASSERT_EQ(r.paths.size(), 1u);
  EXPECT_EQ(r.paths[0], tpath("shell-0123456789abcdef"));
  EXPECT_FALSE(path_exists(tpath("shell-0123456789abcdef")));
  EXPECT_TRUE(path_exists(tpath("shell-fedcba9876543210")));
  EXPECT_TRUE(path_exists(tpath(".build-shell-x")));
}

TEST_F(PruneTest, KeepsNamedTemplates) {
  // A loaded template (sbx template load) is used by no sandbox yet, but
  // its name is how the user refers to it: prune leaves it.
  std::string named = tpath("image-00112233445566778");
  ASSERT_TRUE(make_dirs(named).ok());
  ASSERT_TRUE(write_file_atomic(named + "/template.json", "{\"name\":\"mine\"}").ok());
  auto r = prune_templates(cache(), {}, /*dry_run=*/false);
  EXPECT_EQ(r.paths.size(), 2u);
  EXPECT_TRUE(path_exists(named));
}

TEST_F(PruneTest, MissingCacheIsEmpty) {
  auto r = prune_templates(cache() + "/nothing", {}, false);
  EXPECT_TRUE(r.paths.empty());
  EXPECT_EQ(r.bytes, 0u);
}

}  // namespace
}  // namespace sbx::image
