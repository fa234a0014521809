#include "image/template_archive.h"

#include <gtest/gtest.h>

#include "base/child_process.h"
#include "base/files.h"
#include "image/tar_writer.h"
#include "image/template_cache.h"
#include "image/template_layer.h"

namespace sbx::image {
namespace {

TEST(StandaloneQcow2, AcceptsAPlainImage) {
  EXPECT_TRUE(check_standalone_qcow2(R"({"virtual-size": 1073741824, "format": "qcow2",
      "format-specific": {"type": "qcow2", "data": {"compat": "1.1"}}})")
                  .ok());
}

TEST(StandaloneQcow2, RefusesBackingAndDataFilesAndOtherFormats) {
  auto backing = check_standalone_qcow2(
      R"({"virtual-size": 1024, "format": "qcow2", "backing-filename": "/etc/shadow"})");
  ASSERT_FALSE(backing.ok());
  EXPECT_EQ(backing.error().code, kBadRequest);
  EXPECT_NE(backing.error().message.find("backing file (/etc/shadow)"), std::string::npos);
  auto data = check_standalone_qcow2(R"({"virtual-size": 1024, "format": "qcow2",
      "format-specific": {"type": "qcow2", "data": {"data-file": "/dev/sda"}}})");
  ASSERT_FALSE(data.ok());
  EXPECT_NE(data.error().message.find("external data file"), std::string::npos);
  EXPECT_FALSE(check_standalone_qcow2(R"({"virtual-size": 1024, "format": "raw"})").ok());
  EXPECT_FALSE(check_standalone_qcow2(R"({"virtual-size": 1e30, "format": "qcow2"})").ok());
  EXPECT_FALSE(check_standalone_qcow2("not json").ok());
}

// Real qemu-img: a layer over a raw base, exported (flattened) and loaded.
class TemplateArchiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (find_program("qemu-img").empty() || find_program("qemu-io").empty())
      GTEST_SKIP() << "qemu-utils not installed";
    auto d = TempDir::create("sbx-tarchive");
    ASSERT_TRUE(d.ok());
    dir_.emplace(std::move(*d));
    cache_ = dir_->path() + "/cache";
    tdir_ = templates_dir(cache_);
    std::string base_dir = tdir_ + "/shell-aaaaaaaaaaaaaaaa";
    ASSERT_TRUE(make_dirs(base_dir).ok());
    base_ = base_dir + "/rootfs.ext4";
    ASSERT_TRUE(run_checked({"qemu-img", "create", "-q", "-f", "raw", base_, "64M"}).ok());
    ASSERT_TRUE(run_checked({"qemu-io", "-f", "raw", "-c", "write -P 0x11 0 1M", base_}).ok());
    ASSERT_TRUE(write_file_atomic(base_dir + "/.complete", "aaaaaaaaaaaaaaaaffff\n").ok());
    // The layer: the parent's first MiB, then 1 MiB the sandbox wrote.
    layer_.meta.tag = "proj:v1";
    layer_.meta.id = "bbbbbbbbbbbbbbbb";
    layer_.meta.origin = TemplateOrigin::kSaved;
    layer_.meta.parent = "shell";
    layer_.meta.parent_id = "aaaaaaaaaaaaaaaaffff";
    layer_.meta.image = kLayerImage;
    layer_.meta.format = "qcow2";
    layer_.meta.user = "tester";
    layer_.meta.env = {"GREETING=hi"};
    layer_.dir = tdir_ + "/" + layer_dir_name("proj:v1", "bbbbbbbbbbbbbbbb");
    ASSERT_TRUE(make_dirs(layer_.dir).ok());
    ASSERT_TRUE(run_checked({"qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", base_,
                             layer_.image_path(), "64M"})
                    .ok());
    ASSERT_TRUE(
        run_checked({"qemu-io", "-f", "qcow2", "-c", "write -P 0x22 8M 1M", layer_.image_path()})
            .ok());
    ASSERT_TRUE(write_file_atomic(layer_.dir + "/" + kMetaFile, to_meta_text(layer_.meta)).ok());
    archive_ = dir_->path() + "/proj.tar";
  }
  // Whether `image` (qcow2) reads `pattern` over [offset, offset+len).
  bool reads(const std::string& image, const std::string& pattern, const std::string& offset) {
    auto r = run_command(
        {"qemu-io", "-f", "qcow2", "-r", "-c", "read -P " + pattern + " " + offset + " 1M", image});
    return r && r->status.exited && r->status.code == 0 &&
           r->output.find("Pattern verification failed") == std::string::npos;
  }
  TemplateImportOptions load_opts(const std::string& tag = "") {
    TemplateImportOptions o;
    o.archive = archive_;
    o.tag = tag;
    o.cache_dir = cache_;
    return o;
  }
  std::optional<TempDir> dir_;
  std::string cache_, tdir_, base_, archive_;
  TemplateEntry layer_;
};

TEST_F(TemplateArchiveTest, ExportFlattensAndLoadBringsItBackAsAStandaloneTemplate) {
  auto size = export_template(layer_, archive_, tdir_);
  ASSERT_TRUE(size.ok()) << size.error().message;
  EXPECT_TRUE(is_template_archive(archive_));
  EXPECT_FALSE(path_exists(archive_ + ".tmp-" + std::to_string(::getpid())));
  auto names = list_dir(tdir_);
  ASSERT_TRUE(names.ok());
  for (auto& n : *names) EXPECT_NE(n.rfind(".export-", 0), 0u) << "work dir left: " << n;

  // Loaded under a new tag, with no parent: the base may go away.
  auto t = import_image_template(load_opts("restored"));
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t->name, "restored");
  EXPECT_EQ(t->format, "sbx");
  EXPECT_EQ(t->config.user, "tester");
  auto all = list_templates(tdir_);
  auto e = find_template(all, "restored");
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_EQ(e->meta.origin, TemplateOrigin::kLoaded);
  EXPECT_EQ(e->meta.format, "qcow2");
  EXPECT_TRUE(e->meta.parent_id.empty());
  EXPECT_EQ(e->meta.env, std::vector<std::string>{"GREETING=hi"});
  ASSERT_TRUE(remove_tree(tdir_ + "/shell-aaaaaaaaaaaaaaaa").ok());
  EXPECT_TRUE(reads(e->image_path(), "0x11", "0"));   // the parent's data
  EXPECT_TRUE(reads(e->image_path(), "0x22", "8M"));  // the layer's own
  auto info = run_checked({"qemu-img", "info", e->image_path()});
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->find("backing file"), std::string::npos) << *info;

  // The same archive under the same tag again: reused; a taken tag refused.
  auto again = import_image_template(load_opts("restored"));
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_TRUE(again->reused);
  auto taken = import_image_template(load_opts());  // its own tag, proj:v1, exists
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.error().code, kConflict);
}

TEST_F(TemplateArchiveTest, ExportRefusesWithoutSpaceOrDirectoryAndWritesNothing) {
  auto full = export_template(layer_, archive_, tdir_, /*extra_free_bytes=*/1ull << 60);
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().code, kInsufficientStorage);
  EXPECT_NE(full.error().message.find("free disk space"), std::string::npos);
  EXPECT_FALSE(path_exists(archive_));
  auto nodir = export_template(layer_, dir_->path() + "/missing/x.tar", tdir_);
  ASSERT_FALSE(nodir.ok());
  EXPECT_NE(nodir.error().message.find("does not exist"), std::string::npos);
  EXPECT_FALSE(export_template(layer_, "relative.tar", tdir_).ok());
}

TEST_F(TemplateArchiveTest, LoadRefusesAQcow2WithABackingFile) {
  // Hostile: a qcow2 whose backing file is a host path.
  std::string evil = dir_->path() + "/evil.qcow2";
  ASSERT_TRUE(run_checked({"qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", base_,
                           evil, "64M"})
                  .ok());
  auto bytes = read_file(evil);
  ASSERT_TRUE(bytes.ok());
  TemplateMeta m = layer_.meta;
  m.image = kArchiveImageMember;
  TarWriter w;
  w.file(kArchiveMetaMember, to_meta_text(m));
  w.file(kArchiveImageMember, *bytes);
  ASSERT_TRUE(write_file_atomic(archive_, w.finish()).ok());
  ASSERT_TRUE(is_template_archive(archive_));
  auto t = import_image_template(load_opts("evil"));
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().code, kBadRequest);
  EXPECT_NE(t.error().message.find("backing file (" + base_ + ")"), std::string::npos)
      << t.error().message;
  EXPECT_FALSE(find_template(list_templates(tdir_), "evil").ok());
  auto names = list_dir(tdir_);
  ASSERT_TRUE(names.ok());
  for (auto& n : *names) EXPECT_NE(n.rfind(".load-", 0), 0u) << "work dir left: " << n;
}

TEST_F(TemplateArchiveTest, ADockerArchiveIsNotATemplateArchive) {
  TarWriter w;
  w.file("manifest.json", "[]");
  ASSERT_TRUE(write_file_atomic(archive_, w.finish()).ok());
  EXPECT_FALSE(is_template_archive(archive_));
  EXPECT_FALSE(is_template_archive(dir_->path() + "/none.tar"));
}

}  // namespace
}  // namespace sbx::image
