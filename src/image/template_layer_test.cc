#include "image/template_layer.h"

#include <gtest/gtest.h>

#include "base/child_process.h"
#include "base/files.h"
#include "image/template_cache.h"

namespace sbx::image {
namespace {

TemplateMeta sample() {
  TemplateMeta m;
  m.tag = "myproject:v1";
  m.id = "0123456789abcdef0123";
  m.origin = TemplateOrigin::kSaved;
  m.parent = "shell";
  m.parent_id = "fedcba9876543210";
  m.created = "2026-12-02T15:00:00Z";
  m.inputs = "sandbox dev";
  m.image = kLayerImage;
  m.format = "qcow2";
  m.source = "dev";
  return m;
}

TEST(TemplateMeta, RoundTripsThroughText) {
  auto back = parse_meta_text(to_meta_text(sample()));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->tag, "myproject:v1");
  EXPECT_EQ(back->id, sample().id);
  EXPECT_EQ(back->origin, TemplateOrigin::kSaved);
  EXPECT_EQ(back->parent, "shell");
  EXPECT_EQ(back->parent_id, "fedcba9876543210");
  EXPECT_EQ(back->created, "2026-12-02T15:00:00Z");
  EXPECT_EQ(back->image, "layer.qcow2");
  EXPECT_EQ(back->format, "qcow2");
}

TEST(TemplateMeta, NewlinesInValuesCannotAddKeys) {
  auto m = sample();
  m.source = "x\nimage=../../etc/passwd";
  auto back = parse_meta_text(to_meta_text(m));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->image, "layer.qcow2");
}

TEST(TemplateMeta, RejectsImagesOutsideTheDirectoryAndMissingFields) {
  auto m = sample();
  m.image = "../shell-x/rootfs.ext4";
  EXPECT_FALSE(parse_meta_text(to_meta_text(m)).ok());
  EXPECT_FALSE(parse_meta_text("tag=a\nimage=layer.qcow2\nformat=qcow2\n").ok());  // no id
  EXPECT_FALSE(parse_meta_text("tag=a\nid=1\nimage=x\nformat=vmdk\n").ok());
  EXPECT_FALSE(parse_meta_text("garbage").ok());
  EXPECT_FALSE(parse_meta_text(std::string(70000, 'a')).ok());
}

TEST(TemplateTag, AcceptsDockerStyleTagsOnly) {
  EXPECT_TRUE(validate_template_tag("claude").ok());
  EXPECT_TRUE(validate_template_tag("my-proj_1.2:v3").ok());
  EXPECT_FALSE(validate_template_tag("").ok());
  EXPECT_FALSE(validate_template_tag("-x").ok());
  EXPECT_TRUE(validate_template_tag("registry.example/team/app:1").ok());  // loaded images
  EXPECT_FALSE(validate_template_tag("a//b").ok());
  EXPECT_FALSE(validate_template_tag("a/../b").ok());
  EXPECT_FALSE(validate_template_tag("a/").ok());
  EXPECT_FALSE(validate_template_tag("UPPER").ok());
  EXPECT_FALSE(validate_template_tag(std::string(129, 'a')).ok());
  EXPECT_EQ(validate_template_tag("a b").error().code, kBadRequest);
}

TEST(TemplateTag, LayerDirectoryNamesAreDistinctPerTagAndId) {
  EXPECT_EQ(layer_dir_name("proj:v1", "0123456789abcdef99"), "layer-proj@v1-0123456789abcdef");
  EXPECT_NE(layer_dir_name("a", "1111111111111111"), layer_dir_name("a", "2222222222222222"));
  EXPECT_EQ(layer_dir_name("team/app:1", "0123456789abcdef"), "layer-team+app@1-0123456789abcdef");
}

TEST(TemplateMeta, LoadedImageConfigRoundTrips) {
  auto m = sample();
  m.origin = TemplateOrigin::kLoaded;
  m.user = "tester:staff";
  m.working_dir = "/srv/app";
  m.env = {"PATH=/usr/local/bin:/usr/bin:/bin", "GREETING=a=b c"};
  m.image_id = "sha256:abc";
  m.archive_format = "oci";
  auto back = parse_meta_text(to_meta_text(m));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->origin, TemplateOrigin::kLoaded);
  EXPECT_EQ(back->user, "tester:staff");
  EXPECT_EQ(back->working_dir, "/srv/app");
  EXPECT_EQ(back->env, m.env);
  EXPECT_EQ(back->image_id, "sha256:abc");
  EXPECT_EQ(back->archive_format, "oci");
  // Other templates write none of these keys.
  EXPECT_EQ(to_meta_text(sample()).find("env="), std::string::npos);
}

// A real qemu-img round trip: a layer holds only the overlay's delta.
class SaveLayerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (find_program("qemu-img").empty() || find_program("qemu-io").empty())
      GTEST_SKIP() << "qemu-utils not installed";
    auto d = TempDir::create("sbx-layer");
    ASSERT_TRUE(d.ok());
    dir_.emplace(std::move(*d));
    base_ = dir_->path() + "/rootfs.ext4";
    overlay_ = dir_->path() + "/disk.qcow2";
    // 64 MiB of parent data, sparse beyond it.
    ASSERT_TRUE(run_checked({"qemu-img", "create", "-q", "-f", "raw", base_, "1G"}).ok());
    ASSERT_TRUE(run_checked({"qemu-io", "-f", "raw", "-c", "write -P 0x11 0 64M", base_}).ok());
    ASSERT_TRUE(run_checked({"qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", base_,
                             overlay_, "1G"})
                    .ok());
    // The sandbox wrote 2 MiB and zeroed 1 MiB of the parent's data.
    ASSERT_TRUE(run_checked({"qemu-io", "-f", "qcow2", "-c", "write -P 0x22 100M 2M", "-c",
                             "write -z 1M 1M", overlay_})
                    .ok());
  }
  std::optional<TempDir> dir_;
  std::string base_, overlay_;
};

TEST_F(SaveLayerTest, LayerIsTheDeltaAndReadsLikeTheOverlay) {
  auto m = sample();
  m.image.clear();
  auto dir = save_layer(dir_->path(), overlay_, base_, "raw", m);
  ASSERT_TRUE(dir.ok()) << dir.error().message;
  std::string layer = *dir + "/" + kLayerImage;
  // Same guest-visible bytes as the overlay over the same parent.
  auto cmp =
      run_command({"qemu-img", "compare", "-q", "-f", "qcow2", "-F", "qcow2", overlay_, layer});
  ASSERT_TRUE(cmp.ok());
  EXPECT_TRUE(cmp->status.exited && cmp->status.code == 0) << cmp->output;
  // The zeroed range reads as zeros, not as the parent's 0x11.
  auto z = run_command({"qemu-io", "-f", "qcow2", "-r", "-c", "read -P 0 1M 1M", layer});
  ASSERT_TRUE(z.ok());
  EXPECT_EQ(z->output.find("Pattern verification failed"), std::string::npos) << z->output;
  // Only the delta is stored: far below the parent's 64 MiB.
  EXPECT_LT(disk_usage(layer), 16ull << 20);
  EXPECT_GT(disk_usage(base_), 60ull << 20);
  auto meta = read_file(*dir + "/" + kMetaFile);
  ASSERT_TRUE(meta.ok());
  auto parsed = parse_meta_text(*meta);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->format, "qcow2");
  EXPECT_EQ(parsed->image, kLayerImage);
  // A second save under the same tag and id is refused, not clobbered.
  auto again = save_layer(dir_->path(), overlay_, base_, "raw", m);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, kConflict);
}

TEST_F(SaveLayerTest, FailedConvertLeavesNothingBehind) {
  auto m = sample();
  auto dir = save_layer(dir_->path(), dir_->path() + "/missing.qcow2", base_, "raw", m);
  ASSERT_FALSE(dir.ok());
  auto names = list_dir(dir_->path());
  ASSERT_TRUE(names.ok());
  for (auto& n : *names) EXPECT_EQ(n.find("layer-"), std::string::npos) << n;
  for (auto& n : *names) EXPECT_EQ(n.find(".save-"), std::string::npos) << n;
}

}  // namespace
}  // namespace sbx::image
