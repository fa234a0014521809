#include "image/free_space.h"

#include <gtest/gtest.h>

namespace sbx::image {
namespace {

TEST(FreeSpace, RefusesWithInsufficientStorageAndSaysWhatToDo) {
  auto r = require_space("save template 'x'", "/cache", 2ull << 30, 1ull << 30);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, kInsufficientStorage);
  EXPECT_NE(r.error().message.find("save template 'x'"), std::string::npos);
  EXPECT_NE(r.error().message.find("/cache"), std::string::npos);
  EXPECT_NE(r.error().message.find("sbx prune"), std::string::npos);
}

TEST(FreeSpace, EnoughOrUnknownPasses) {
  EXPECT_TRUE(require_space("x", "/c", 1ull << 30, 1ull << 30).ok());
  EXPECT_TRUE(require_space("x", "/c", 1ull << 30, std::nullopt).ok());
  EXPECT_TRUE(free_bytes("/").has_value());
  // Nothing has an exabyte free.
  EXPECT_EQ(check_free_space("x", "/", 1ull << 60).error().code, kInsufficientStorage);
}

}  // namespace
}  // namespace sbx::image
