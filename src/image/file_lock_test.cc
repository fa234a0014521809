#include "image/file_lock.h"

#include <gtest/gtest.h>

#include "base/files.h"

namespace sbx::image {
namespace {

TEST(FileLock, ExcludesSecondHolderUntilReleased) {
  auto dir = TempDir::create("sbx-lock-test");
  ASSERT_TRUE(dir.ok());
  std::string path = dir->path() + "/x.lock";
  {
    auto a = FileLock::acquire(path);
    ASSERT_TRUE(a.ok()) << a.error().message;
    // flock locks belong to the open file description, so a second open in
    // the same process contends just as another process would.
    auto b = FileLock::try_acquire(path);
    EXPECT_FALSE(b.ok());
  }
  auto c = FileLock::try_acquire(path);
  EXPECT_TRUE(c.ok());
}

}  // namespace
}  // namespace sbx::image
