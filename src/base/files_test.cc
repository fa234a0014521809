#include "base/files.h"

#include <sys/stat.h>
#include <gtest/gtest.h>

namespace sbx {
namespace {

TEST(Files, AtomicWriteAndRead) {
  auto t = TempDir::create();
  ASSERT_TRUE(t.ok());
  std::string p = t->path() + "/a/b/c.txt";
  ASSERT_TRUE(make_dirs(t->path() + "/a/b").ok());
  ASSERT_TRUE(write_file_atomic(p, "hello", 0600).ok());
  auto r = read_file(p);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "hello");
  struct stat st;
  ASSERT_EQ(stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(Files, TempDirIsRemoved) {
  std::string path;
  {
    auto t = TempDir::create();
    ASSERT_TRUE(t.ok());
    path = t->path();
    ASSERT_TRUE(write_file_atomic(path + "/x", "1").ok());
    EXPECT_TRUE(is_directory(path));
  }
  EXPECT_FALSE(path_exists(path));
}

TEST(Files, AbsolutePathOfMissingFileIsNormalised) {
  auto r = absolute_path("/tmp/../tmp/does-not-exist-sbx/");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "/tmp/does-not-exist-sbx");
}

TEST(Files, ReadMissingFileNamesIt) {
  auto r = read_file("/nonexistent-sbx-file");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("/nonexistent-sbx-file"), std::string::npos);
}

}  // namespace
}  // namespace sbx
