// sbx template load, end to end through the CLI and sandboxd: an image
// archive the test builds itself (two layers, whiteouts, an opaque
// directory, links, owners and modes) becomes a template whose ext4 root
// holds exactly what the layers say, checked with debugfs on the image.
// Booting a loaded image with `sbx create -t TAG`, and the image's User,
// WorkingDir and Env in its sessions, are in tests/e2e/templates_test.cc.
#include <gtest/gtest.h>
#include <stdlib.h>

#include "base/files.h"
#include "base/strings.h"
#include "harness/harness.h"
#include "image/image_test_archives.h"

namespace sbx::testing {
namespace {

using namespace sbx::image::testing;

std::string debugfs(const std::string& image, const std::string& request) {
  auto r = run({"debugfs", "-R", request, image});
  return r.out;
}

class TemplateLoad : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    env_ = new SbxEnv();
    // A private cache: the loaded templates go away with the suite.
    cache_ = env_->root() + "/cache";
    setenv("SBX_CACHE_DIR", cache_.c_str(), 1);
  }
  static void TearDownTestSuite() {
    delete env_;
    unsetenv("SBX_CACHE_DIR");
  }
  std::string write(const std::string& name, const std::string& bytes) {
    std::string p = env_->root() + "/" + name;
    EXPECT_TRUE(write_file_atomic(p, bytes));
    return p;
  }
  // The rootfs.ext4 of the only loaded template directory named image-*.
  std::vector<std::string> loaded_images() {
    std::vector<std::string> out;
    auto names = list_dir(cache_ + "/templates");
    if (names)
      for (auto& n : *names)
        if (starts_with(n, "image-")) out.push_back(cache_ + "/templates/" + n + "/rootfs.ext4");
    return out;
  }
  static SbxEnv* env_;
  static std::string cache_;
};
SbxEnv* TemplateLoad::env_ = nullptr;
std::string TemplateLoad::cache_;

TEST_F(TemplateLoad, DockerArchiveBecomesATemplateWithExactlyTheLayersFiles) {
  std::string tar = write("image.tar", docker_archive({base_layer(), top_layer()}));
  auto r = sbx({"template", "load", tar, "loadtest"});
  ASSERT_EQ(r.code, 0) << r.all();
  EXPECT_NE(r.out.find("Loaded template 'loadtest'"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("working dir: /work"), std::string::npos) << r.out;
  auto images = loaded_images();
  ASSERT_EQ(images.size(), 1u);
  const std::string& img = images[0];
  EXPECT_EQ(debugfs(img, "cat /keep/a.txt"), "one\n");
  EXPECT_EQ(debugfs(img, "cat /keep/b.txt"), "two\n");
  EXPECT_EQ(debugfs(img, "cat /opq/new.txt"), "new\n");
  std::string root = debugfs(img, "ls -p /");
  std::string opq = debugfs(img, "ls -p /opq");
  EXPECT_EQ(root.find("/del.txt/"), std::string::npos) << root;  // whiteout
  EXPECT_EQ(root.find("/gone/"), std::string::npos) << root;     // whited-out directory
  EXPECT_EQ(opq.find("/old.txt/"), std::string::npos) << opq;    // opaque directory
  EXPECT_EQ(opq.find("/sub/"), std::string::npos) << opq;
  EXPECT_NE(opq.find("/new.txt/"), std::string::npos) << opq;
  std::string a = debugfs(img, "stat /keep/a.txt");
  EXPECT_NE(a.find("Mode:  0640"), std::string::npos) << a;
  EXPECT_NE(a.find("User:  1234"), std::string::npos) << a;
  std::string su = debugfs(img, "stat /usr/bin/su");
  EXPECT_NE(su.find("Mode:  04755"), std::string::npos) << su;
  std::string hard = debugfs(img, "stat /data/hard");
  EXPECT_NE(hard.find("Links: 2"), std::string::npos) << hard;
  EXPECT_NE(debugfs(img, "stat /link").find("Fast link dest: \"data/target.txt\""),
            std::string::npos);
  EXPECT_NE(debugfs(img, "cat /etc/passwd").find("agent:x:1000:1000:"), std::string::npos);

  // Again: the same image under the same name is reused, not rebuilt.
  auto again = sbx({"template", "load", tar, "loadtest"});
  EXPECT_EQ(again.code, 0) << again.all();
  EXPECT_NE(again.out.find("already loaded"), std::string::npos) << again.out;
  EXPECT_EQ(loaded_images().size(), 1u);
}

TEST_F(TemplateLoad, OciLayoutLoadsUnderItsOwnTag) {
  std::string tar = write("oci.tar", oci_archive({base_layer(), top_layer()}, "oci/test:2"));
  auto r = sbx({"template", "load", tar, "--json"});
  ASSERT_EQ(r.code, 0) << r.all();
  EXPECT_NE(r.out.find("\"name\": \"oci/test:2\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"format\": \"oci\""), std::string::npos) << r.out;
}

TEST_F(TemplateLoad, RefusesTamperedAndHostileArchives) {
  size_t before = loaded_images().size();
  std::string cfg = image_config({base_layer(), top_layer()});
  image::TarWriter other;
  other.file("keep/a.txt", "swapped\n");
  std::string bad = write("bad.tar", docker_archive({base_layer(), other.finish()}, "b:1", cfg));
  auto r = sbx({"template", "load", bad, "tampered"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("diff_id"), std::string::npos) << r.all();

  image::TarWriter evil;
  evil.file("../../escape.txt", "x");
  std::string ev = write("evil.tar", docker_archive({evil.finish()}, "e:1"));
  auto e = sbx({"template", "load", ev, "evil"});
  EXPECT_NE(e.code, 0);
  EXPECT_NE(e.err.find("'..'"), std::string::npos) << e.all();
  EXPECT_FALSE(path_exists(env_->root() + "/../escape.txt"));

  auto missing = sbx({"template", "load", env_->root() + "/nope.tar"});
  EXPECT_NE(missing.code, 0);
  EXPECT_NE(missing.err.find("no such file"), std::string::npos) << missing.all();
  EXPECT_EQ(loaded_images().size(), before);
}

}  // namespace
}  // namespace sbx::testing
