#include "image/layer_applier.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "base/files.h"
#include "image/image_test_archives.h"

namespace sbx::image {
namespace {

namespace fs = std::filesystem;
using testing::base_layer;
using testing::top_layer;

Result<void> apply_layer(LayerApplier& a, const std::string& tar,
                         const std::string& what = "layer") {
  StringSource src(tar);
  TarReader tr(src);
  return a.apply(tr, what);
}

// Every path below `root`, relative, with a type letter: d f l.
std::set<std::string> tree(const std::string& root) {
  std::set<std::string> out;
  for (auto& e : fs::recursive_directory_iterator(root)) {
    std::string rel = e.path().lexically_relative(root).string();
    char t = e.is_symlink() ? 'l' : e.is_directory() ? 'd' : 'f';
    out.insert(rel + ":" + t);
  }
  return out;
}

struct Staged {
  TempDir dir;
  LayerApplier applier;
};

Staged stage_two_layers() {
  auto d = TempDir::create("applier");
  EXPECT_TRUE(d);
  auto a = LayerApplier::open(d->path());
  EXPECT_TRUE(a);
  auto r1 = apply_layer(*a, base_layer(), "layer 1");
  EXPECT_TRUE(r1) << r1.error().message;
  auto r2 = apply_layer(*a, top_layer(), "layer 2");
  EXPECT_TRUE(r2) << r2.error().message;
  return Staged{std::move(*d), std::move(*a)};
}

TEST(LayerApplier, TwoLayersGiveExactlyTheMergedTree) {
  auto s = stage_two_layers();
  const std::string& root = s.dir.path();
  std::set<std::string> want = {
      "etc:d",        "etc/passwd:f", "etc/group:f",   "keep:d", "keep/a.txt:f",
      "keep/b.txt:f", "opq:d",        "opq/new.txt:f", "data:d", "data/target.txt:f",
      "data/hard:f",  "link:l",       "abs:l",         "usr:d",  "usr/bin:d",
      "usr/bin/su:f", "dev:d",        "dev/null:f"};
  EXPECT_EQ(tree(root), want);
  EXPECT_EQ(*read_file(root + "/opq/new.txt"), "new\n");
  EXPECT_EQ(*read_file(root + "/keep/a.txt"), "one\n");
  EXPECT_EQ(fs::read_symlink(root + "/link").string(), "data/target.txt");
  EXPECT_EQ(fs::read_symlink(root + "/abs").string(), "/data/target.txt");
  struct stat a, b;
  ASSERT_EQ(::lstat((root + "/data/hard").c_str(), &a), 0);
  ASSERT_EQ(::lstat((root + "/data/target.txt").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_nlink, 2u);
}

TEST(LayerApplier, RecordsOwnersModesAndDevices) {
  auto s = stage_two_layers();
  const auto& m = s.applier.metadata();
  std::set<std::string> paths;
  for (auto& [p, _] : m) paths.insert(p);
  // The metadata describes exactly the tree (plus the root ""), nothing
  // that a whiteout or the opaque directory removed.
  std::set<std::string> want = {"",
                                "etc",
                                "etc/passwd",
                                "etc/group",
                                "keep",
                                "keep/a.txt",
                                "keep/b.txt",
                                "opq",
                                "opq/new.txt",
                                "data",
                                "data/target.txt",
                                "data/hard",
                                "link",
                                "abs",
                                "usr",
                                "usr/bin",
                                "usr/bin/su",
                                "dev",
                                "dev/null"};
  EXPECT_EQ(paths, want);
  EXPECT_EQ(m.at("keep").mode, 0750u);
  EXPECT_EQ(m.at("keep").uid, 1234u);
  EXPECT_EQ(m.at("keep/a.txt").gid, 5678u);
  EXPECT_EQ(m.at("keep/a.txt").mode, 0640u);
  EXPECT_EQ(m.at("opq").mode, 0711u);  // the upper layer's directory entry wins
  EXPECT_EQ(m.at("usr/bin/su").mode, 04755u);
  EXPECT_EQ(m.at("data/hard").uid, 42u);  // shares the target's inode
  EXPECT_EQ(m.at("dev/null").type, TarType::kCharDev);
  EXPECT_EQ(m.at("dev/null").dev_minor, 3u);
}

TEST(LayerApplier, SymlinksNeverLeadOutOfTheRoot) {
  auto outside = TempDir::create("outside");
  ASSERT_TRUE(outside);
  ASSERT_TRUE(write_file_atomic(outside->path() + "/secret", "host\n"));
  auto d = TempDir::create("applier");
  ASSERT_TRUE(d);
  auto a = LayerApplier::open(d->path());
  ASSERT_TRUE(a);
  TarWriter l1;
  l1.symlink("abs", outside->path());        // absolute, to a host directory
  l1.symlink("up", "../../../../../../..");  // climbs past the root
  l1.symlink("file", outside->path() + "/secret");
  ASSERT_TRUE(apply_layer(*a, l1.finish()));
  TarWriter l2;
  l2.file("abs/pwned", "1");
  l2.file("up/pwned2", "2");
  l2.file("file", "overwritten?");  // replaces the link, never writes through it
  auto r = apply_layer(*a, l2.finish());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(path_exists(outside->path() + "/pwned"));
  EXPECT_EQ(*read_file(outside->path() + "/secret"), "host\n");
  // Followed with the root as "/": the writes land inside it.
  EXPECT_EQ(*read_file(d->path() + outside->path() + "/pwned"), "1");
  EXPECT_EQ(*read_file(d->path() + "/pwned2"), "2");
  EXPECT_EQ(*read_file(d->path() + "/file"), "overwritten?");
  std::set<std::string> outside_tree = tree(outside->path());
  EXPECT_EQ(outside_tree.size(), 1u);
  EXPECT_TRUE(outside_tree.count("secret:f"));
}

TEST(LayerApplier, HardlinksCannotReachOutside) {
  auto outside = TempDir::create("outside");
  ASSERT_TRUE(outside);
  ASSERT_TRUE(write_file_atomic(outside->path() + "/secret", "host\n"));
  auto d = TempDir::create("applier");
  ASSERT_TRUE(d);
  auto a = LayerApplier::open(d->path());
  ASSERT_TRUE(a);
  TarWriter w;
  w.symlink("out", outside->path());
  w.hardlink("stolen", "out/secret");  // resolves inside the root: absent
  auto r = apply_layer(*a, w.finish());
  EXPECT_FALSE(r);
  EXPECT_FALSE(path_exists(d->path() + "/stolen"));
  struct stat st;
  ASSERT_EQ(::stat((outside->path() + "/secret").c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 1u);
}

TEST(LayerApplier, PathTraversalInALayerIsRefused) {
  auto d = TempDir::create("applier");
  ASSERT_TRUE(d);
  auto a = LayerApplier::open(d->path());
  ASSERT_TRUE(a);
  TarWriter w;
  w.file("ok.txt", "fine");
  w.file("../escaped.txt", "bad");
  auto r = apply_layer(*a, w.finish(), "layer 1");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("layer 1"), std::string::npos);
  EXPECT_NE(r.error().message.find(".."), std::string::npos);
  EXPECT_FALSE(path_exists(fs::path(d->path()).parent_path().string() + "/escaped.txt"));
}

TEST(LayerApplier, OpaqueKeepsWhatTheSameLayerWroteBeforeIt) {
  auto d = TempDir::create("applier");
  ASSERT_TRUE(d);
  auto a = LayerApplier::open(d->path());
  ASSERT_TRUE(a);
  TarWriter l1;
  l1.dir("o");
  l1.file("o/lower.txt", "l");
  ASSERT_TRUE(apply_layer(*a, l1.finish()));
  TarWriter l2;
  l2.file("o/upper.txt", "u");
  l2.file("o/.wh..wh..opq", "");  // after its sibling, as some tools write it
  ASSERT_TRUE(apply_layer(*a, l2.finish()));
  EXPECT_EQ(tree(d->path()), (std::set<std::string>{"o:d", "o/upper.txt:f"}));
}

TEST(LayerApplier, ReplacesAcrossTypes) {
  auto d = TempDir::create("applier");
  ASSERT_TRUE(d);
  auto a = LayerApplier::open(d->path());
  ASSERT_TRUE(a);
  TarWriter l1;
  l1.dir("x");
  l1.file("x/inner", "i");
  l1.file("y", "file");
  ASSERT_TRUE(apply_layer(*a, l1.finish()));
  TarWriter l2;
  l2.file("x", "now a file");
  l2.dir("y");
  ASSERT_TRUE(apply_layer(*a, l2.finish()));
  EXPECT_EQ(tree(d->path()), (std::set<std::string>{"x:f", "y:d"}));
  EXPECT_FALSE(a->metadata().count("x/inner"));
}

}  // namespace
}  // namespace sbx::image
