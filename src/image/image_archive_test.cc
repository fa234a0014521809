#include "image/image_archive.h"

#include <gtest/gtest.h>

#include "base/files.h"
#include "image/image_test_archives.h"
#include "image/layer_applier.h"

namespace sbx::image {
namespace {

using namespace testing;

struct ArchiveFile {
  TempDir dir;
  std::string path;
};

ArchiveFile write_archive(const std::string& bytes) {
  auto d = TempDir::create("archive");
  EXPECT_TRUE(d);
  std::string p = d->path() + "/image.tar";
  EXPECT_TRUE(write_file_atomic(p, bytes));
  return ArchiveFile{std::move(*d), p};
}

// Applies every layer of the archive at `path` into a fresh directory.
Result<std::map<std::string, NodeMeta>> apply_all(const std::string& path) {
  auto a = ImageArchive::open(path);
  if (!a) return a.error();
  auto d = TempDir::create("staged");
  if (!d) return d.error();
  auto ap = LayerApplier::open(d->path());
  if (!ap) return ap.error();
  for (size_t i = 0; i < a->layers().size(); ++i)
    if (auto r = a->read_layer(i, [&](TarReader& t) { return ap->apply(t, "l"); }); !r)
      return r.error();
  return ap->metadata();
}

TEST(ImageArchive, ReadsDockerSave) {
  auto f = write_archive(docker_archive({base_layer(), top_layer()}));
  auto a = ImageArchive::open(f.path);
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->format(), "docker");
  EXPECT_EQ(a->tags(), std::vector<std::string>{"test/image:1"});
  EXPECT_EQ(a->config().user, "1000:1000");
  EXPECT_EQ(a->config().working_dir, "/work");
  EXPECT_EQ(a->config().env.size(), 2u);
  ASSERT_EQ(a->layers().size(), 2u);
  auto m = apply_all(f.path);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_TRUE(m->count("opq/new.txt"));
  EXPECT_FALSE(m->count("opq/old.txt"));
  EXPECT_FALSE(m->count("del.txt"));
}

TEST(ImageArchive, ReadsOciLayoutWithGzipLayers) {
  auto f = write_archive(oci_archive({base_layer(), top_layer()}));
  auto a = ImageArchive::open(f.path);
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->format(), "oci");
  EXPECT_EQ(a->tags(), std::vector<std::string>{"test/oci:1"});
  auto m = apply_all(f.path);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_TRUE(m->count("data/hard"));
  EXPECT_FALSE(m->count("gone"));
  EXPECT_FALSE(m->count("gone/x.txt"));
}

TEST(ImageArchive, RefusesALayerThatDoesNotMatchItsDiffId) {
  std::string l1 = base_layer();
  // The config promises the original layer; the archive carries another.
  std::string cfg = image_config({l1, top_layer()});
  TarWriter evil;
  evil.file("etc/passwd", "root::0:0::/root:/bin/sh\n");
  auto f = write_archive(docker_archive({l1, evil.finish()}, "t:1", cfg));
  auto m = apply_all(f.path);
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message.find("diff_id"), std::string::npos) << m.error().message;
  EXPECT_NE(m.error().message.find("layer 2"), std::string::npos);
}

TEST(ImageArchive, RefusesATamperedOciBlob) {
  std::string tar = oci_archive({base_layer()});
  // Change the gzip header's MTIME, which gunzip does not check: the layer
  // still decompresses to the right tar, only the blob digest can tell.
  std::string gz = gzip(base_layer());
  size_t at = tar.find(gz);
  ASSERT_NE(at, std::string::npos);
  tar[at + 4] ^= 0x01;
  auto f = write_archive(tar);
  auto m = apply_all(f.path);
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message.find("does not match its digest"), std::string::npos)
      << m.error().message;
  EXPECT_EQ(m.error().code, kBadRequest);
}

TEST(ImageArchive, RefusesATamperedConfig) {
  std::string l = base_layer();
  std::string cfg = image_config({l});
  std::string arch = docker_archive({l}, "t:1", cfg);
  // Same length, different bytes: the name (its sha256) no longer matches.
  size_t at = arch.find("GREETING=hello");
  ASSERT_NE(at, std::string::npos);
  arch.replace(at, 14, "GREETING=HELLO");
  auto f = write_archive(arch);
  auto a = ImageArchive::open(f.path);
  ASSERT_FALSE(a);
  EXPECT_NE(a.error().message.find("digest"), std::string::npos) << a.error().message;
  EXPECT_EQ(a.error().code, kBadRequest);
}

TEST(ImageArchive, RefusesWhatIsNotAnImage) {
  TarWriter w;
  w.file("hello.txt", "hi");
  auto f = write_archive(w.finish());
  auto a = ImageArchive::open(f.path);
  ASSERT_FALSE(a);
  EXPECT_NE(a.error().message.find("docker save"), std::string::npos);
}

TEST(ImageArchive, ParsesConfigDefensively) {
  EXPECT_FALSE(parse_image_config("[1,2"));
  EXPECT_FALSE(parse_image_config(R"({"rootfs":{"diff_ids":["md5:x"]}})"));
  auto c = parse_image_config(R"({"config":{"User":7,"Env":"x"}})");
  ASSERT_TRUE(c);  // wrong types are ignored, not thrown
  EXPECT_EQ(c->user, "");
}

}  // namespace
}  // namespace sbx::image
