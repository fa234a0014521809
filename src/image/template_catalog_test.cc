#include "image/template_catalog.h"

#include <gtest/gtest.h>

#include "base/files.h"
#include "image/template_cache.h"

namespace sbx::image {
namespace {

class CatalogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::create("sbx-tcat");
    ASSERT_TRUE(d.ok());
    dir_.emplace(std::move(*d));
    tdir_ = templates_dir(dir_->path());
    // A base template as the builder leaves it: no metadata, a marker.
    std::string shell = tdir_ + "/shell-aaaaaaaaaaaaaaaa";
    ASSERT_TRUE(make_dirs(shell).ok());
    ASSERT_TRUE(write_file_atomic(shell + "/rootfs.ext4", std::string(4096, 'r')).ok());
    ASSERT_TRUE(write_file_atomic(shell + "/.complete", "aaaaaaaaaaaaaaaaffff\n").ok());
    ASSERT_TRUE(make_dirs(tdir_ + "/.build-shell-x").ok());
  }
  void layer(const std::string& tag, const std::string& id, const std::string& parent_id,
             TemplateOrigin origin, const std::string& created) {
    TemplateMeta m;
    m.tag = tag;
    m.id = id;
    m.parent = "shell";
    m.parent_id = parent_id;
    m.origin = origin;
    m.created = created;
    m.image = kLayerImage;
    m.format = "qcow2";
    std::string d = tdir_ + "/" + layer_dir_name(tag, id);
    ASSERT_TRUE(make_dirs(d).ok());
    ASSERT_TRUE(write_file_atomic(d + "/" + kLayerImage, "q").ok());
    ASSERT_TRUE(write_file_atomic(d + "/" + kMetaFile, to_meta_text(m)).ok());
  }
  std::vector<std::string> tags_of(const std::vector<const TemplateEntry*>& v) {
    std::vector<std::string> out;
    for (auto* e : v) out.push_back(e->meta.tag + "/" + e->meta.id.substr(0, 4));
    return out;
  }
  std::optional<TempDir> dir_;
  std::string tdir_;
};

TEST_F(CatalogTest, ListsBasesAndLayersAndResolvesTheNewestTag) {
  layer("claude", "1111111111111111", "aaaaaaaaaaaaaaaaffff", TemplateOrigin::kBuilt,
        "2026-01-01T00:00:00Z");
  layer("claude", "2222222222222222", "aaaaaaaaaaaaaaaaffff", TemplateOrigin::kBuilt,
        "2026-02-01T00:00:00Z");
  auto all = list_templates(tdir_);
  ASSERT_EQ(all.size(), 3u);
  auto shell = find_template(all, "shell");
  ASSERT_TRUE(shell.ok());
  EXPECT_EQ(shell->meta.format, "raw");
  EXPECT_EQ(shell->meta.id, "aaaaaaaaaaaaaaaaffff");
  auto claude = find_template(all, "claude");
  ASSERT_TRUE(claude.ok());
  EXPECT_EQ(claude->meta.id, "2222222222222222");
  EXPECT_EQ(find_template(all, "nope").error().code, kNotFound);
  EXPECT_EQ(children_of(all, "aaaaaaaaaaaaaaaaffff").size(), 2u);
}

TEST_F(CatalogTest, PruneKeepsSavedNewestUsedAndTheirParents) {
  layer("claude", "1111111111111111", "aaaaaaaaaaaaaaaaffff", TemplateOrigin::kBuilt,
        "2026-01-01T00:00:00Z");
  layer("claude", "2222222222222222", "aaaaaaaaaaaaaaaaffff", TemplateOrigin::kBuilt,
        "2026-02-01T00:00:00Z");
  layer("codex", "3333333333333333", "aaaaaaaaaaaaaaaaffff", TemplateOrigin::kBuilt,
        "2026-01-01T00:00:00Z");
  layer("codex", "4444444444444444", "aaaaaaaaaaaaaaaaffff", TemplateOrigin::kBuilt,
        "2026-03-01T00:00:00Z");
  layer("mine", "5555555555555555", "1111111111111111", TemplateOrigin::kSaved,
        "2026-01-02T00:00:00Z");
  layer("mine", "6666666666666666", "aaaaaaaaaaaaaaaaffff", TemplateOrigin::kSaved,
        "2026-01-03T00:00:00Z");
  auto all = list_templates(tdir_);
  // Old codex is used by nothing; old claude is the parent of a saved layer.
  auto doomed = prunable_templates(all, {});
  EXPECT_EQ(tags_of(doomed), std::vector<std::string>{"codex/3333"});
  // Through prune_templates: the base stays (a kept layer's parent) though
  // no sandbox uses it, and so does the work dir.
  auto r = prune_templates(dir_->path(), {}, /*dry_run=*/false);
  ASSERT_EQ(r.paths.size(), 1u);
  EXPECT_EQ(r.paths[0], tdir_ + "/" + layer_dir_name("codex", "3333333333333333"));
  EXPECT_TRUE(path_exists(tdir_ + "/shell-aaaaaaaaaaaaaaaa"));
  EXPECT_TRUE(path_exists(tdir_ + "/" + layer_dir_name("claude", "1111111111111111")));
  EXPECT_TRUE(path_exists(tdir_ + "/.build-shell-x"));
}

TEST_F(CatalogTest, LoadedImagesAreEntriesLegacyOnesIncludedAndNeverPruned) {
  // A loaded image as the importer now writes it.
  TemplateMeta m;
  m.tag = "team/app:1";
  m.id = "7777777777777777";
  m.origin = TemplateOrigin::kLoaded;
  m.created = "2026-01-01T00:00:00Z";
  m.image = "rootfs.ext4";
  m.format = "raw";
  m.user = "tester";
  std::string d = tdir_ + "/image-7777777777777777";
  ASSERT_TRUE(make_dirs(d).ok());
  ASSERT_TRUE(write_file_atomic(d + "/rootfs.ext4", "r").ok());
  ASSERT_TRUE(write_file_atomic(d + "/" + kMetaFile, to_meta_text(m)).ok());
  // An older load of the same tag (e.g. from before a rename): not the
  // newest of its tag, still the user's data.
  m.id = "6666666666666666";
  m.created = "2025-01-01T00:00:00Z";
  std::string older = tdir_ + "/image-6666666666666666";
  ASSERT_TRUE(make_dirs(older).ok());
  ASSERT_TRUE(write_file_atomic(older + "/rootfs.ext4", "r").ok());
  ASSERT_TRUE(write_file_atomic(older + "/" + kMetaFile, to_meta_text(m)).ok());
  // One from before the catalog: template.json and a marker.
  std::string old = tdir_ + "/image-8888888888888888";
  ASSERT_TRUE(make_dirs(old).ok());
  ASSERT_TRUE(write_file_atomic(old + "/rootfs.ext4", "r").ok());
  ASSERT_TRUE(write_file_atomic(old + "/.complete", "8888888888888888ff\n").ok());
  ASSERT_TRUE(write_file_atomic(old + "/template.json",
                                R"({"name": "old:1", "id": "8888888888888888ff", "format": "docker",
                                    "user": "1000", "env": ["A=1", "B=2"], "working_dir": "/w"})")
                  .ok());
  auto all = list_templates(tdir_);
  auto app = find_template(all, "team/app:1");
  ASSERT_TRUE(app.ok()) << app.error().message;
  EXPECT_EQ(app->meta.origin, TemplateOrigin::kLoaded);
  EXPECT_EQ(app->meta.user, "tester");
  EXPECT_EQ(app->meta.id, "7777777777777777");  // the newest
  auto legacy = find_template(all, "old:1");
  ASSERT_TRUE(legacy.ok()) << legacy.error().message;
  EXPECT_EQ(legacy->meta.origin, TemplateOrigin::kLoaded);
  EXPECT_EQ(legacy->meta.format, "raw");
  EXPECT_EQ(legacy->image_path(), old + "/rootfs.ext4");
  EXPECT_EQ(legacy->meta.env, (std::vector<std::string>{"A=1", "B=2"}));
  EXPECT_EQ(legacy->meta.working_dir, "/w");
  // Found by id without a listing (what exec does).
  auto byid = find_template_meta(tdir_, "8888888888888888ff");
  ASSERT_TRUE(byid.has_value());
  EXPECT_EQ(byid->user, "1000");
  EXPECT_FALSE(find_template_meta(tdir_, "9999999999999999").has_value());
  // Neither is ever pruned, though no sandbox uses them.
  EXPECT_TRUE(prunable_templates(all, {}).empty());
  auto r = prune_templates(dir_->path(), {}, /*dry_run=*/true);
  for (auto& p : r.paths) EXPECT_EQ(p.find("image-"), std::string::npos) << p;
}

}  // namespace
}  // namespace sbx::image
