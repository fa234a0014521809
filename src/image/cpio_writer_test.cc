#include "image/cpio_writer.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "base/child_process.h"
#include "base/files.h"
#include "base/strings.h"

namespace sbx::image {
namespace {

class CpioWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::create("sbx-cpio-test");
    ASSERT_TRUE(d.ok());
    dir_.emplace(std::move(*d));
  }
  std::string path(const std::string& rel) { return dir_->path() + "/" + rel; }
  std::optional<TempDir> dir_;
};

TEST_F(CpioWriterTest, RoundTripsThroughTheCpioTool) {
  std::string big(100003, '\0');  // odd size exercises the 4-byte padding
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7);
  ASSERT_TRUE(write_file_atomic(path("src.bin"), big).ok());

  auto w = CpioWriter::create(path("a.cpio"));
  ASSERT_TRUE(w.ok()) << w.error().message;
  ASSERT_TRUE(w->add_dir("/proc").ok());
  ASSERT_TRUE(w->add_dir("/etc/sbx", 0700).ok());
  ASSERT_TRUE(w->add_file("/etc/sbx/modules", "a\nb\n").ok());
  ASSERT_TRUE(w->add_file("/init", "#!/bin/sh\n", 0755).ok());
  // Parent directories are created on demand.
  ASSERT_TRUE(w->add_file_from("/lib/modules/1.2.3/kernel/x.ko", path("src.bin")).ok());
  ASSERT_TRUE(w->add_symlink("/bin/sh", "busybox").ok());
  ASSERT_TRUE(w->add_char_device("/dev/console", 0600, 5, 1).ok());
  // Duplicates and escapes are refused.
  EXPECT_FALSE(w->add_file("/init", "x").ok());
  EXPECT_FALSE(w->add_file("/../etc/passwd", "x").ok());
  EXPECT_FALSE(path_exists(path("a.cpio")));  // only appears when finished
  ASSERT_TRUE(w->finish().ok());
  EXPECT_EQ(w->size() % 4, 0u);

  auto listing = run_checked({"sh", "-c", "cpio -it --quiet < a.cpio"}, dir_->path());
  ASSERT_TRUE(listing.ok()) << listing.error().message;
  auto names = split(trim(*listing), '\n');
  std::vector<std::string> expected = {
      "proc", "etc", "etc/sbx", "etc/sbx/modules", "init", "lib", "lib/modules",
      "lib/modules/1.2.3", "lib/modules/1.2.3/kernel",
      "lib/modules/1.2.3/kernel/x.ko", "bin", "bin/sh", "dev", "dev/console"};
  EXPECT_EQ(names, expected);

  // Extract everything but the device node (mknod needs privileges).
  ASSERT_TRUE(make_dirs(path("out")).ok());
  auto x = run_checked({"sh", "-c",
                        "cpio -id --quiet --no-absolute-filenames "
                        "--nonmatching 'dev/console' < ../a.cpio"},
                       path("out"));
  ASSERT_TRUE(x.ok()) << x.error().message;
  auto ko = read_file(path("out/lib/modules/1.2.3/kernel/x.ko"));
  ASSERT_TRUE(ko.ok());
  EXPECT_EQ(*ko, big);
  EXPECT_EQ(*read_file(path("out/etc/sbx/modules")), "a\nb\n");
  struct stat st;
  ASSERT_EQ(::stat(path("out/init").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  ASSERT_EQ(::stat(path("out/etc/sbx").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  char target[64] = {};
  ASSERT_GT(::readlink(path("out/bin/sh").c_str(), target, sizeof target - 1), 0);
  EXPECT_STREQ(target, "busybox");

  // The device node's type and numbers, as cpio reports them.
  auto verbose = run_checked({"sh", "-c", "cpio -itv --quiet < a.cpio | grep console"},
                             dir_->path());
  ASSERT_TRUE(verbose.ok());
  EXPECT_TRUE(starts_with(*verbose, "crw-------")) << *verbose;
  EXPECT_NE(verbose->find("5,"), std::string::npos) << *verbose;
}

TEST_F(CpioWriterTest, UnfinishedArchiveLeavesNothing) {
  {
    auto w = CpioWriter::create(path("b.cpio"));
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(w->add_file("x", "y").ok());
  }
  EXPECT_FALSE(path_exists(path("b.cpio")));
  EXPECT_FALSE(path_exists(path("b.cpio.tmp")));
}

TEST_F(CpioWriterTest, MissingSourceFileIsAnError) {
  auto w = CpioWriter::create(path("c.cpio"));
  ASSERT_TRUE(w.ok());
  auto r = w->add_file_from("x", path("does-not-exist"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("does-not-exist"), std::string::npos);
}

}  // namespace
}  // namespace sbx::image
