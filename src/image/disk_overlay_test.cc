#include "image/disk_overlay.h"

#include <gtest/gtest.h>

#include "base/child_process.h"
#include "base/files.h"

namespace sbx::image {
namespace {

TEST(DiskOverlay, CreatesQcow2BackedByRawAndRemovesIt) {
  auto d = TempDir::create("sbx-overlay-test");
  ASSERT_TRUE(d.ok());
  std::string base = d->path() + "/base.raw";
  std::string ovl = d->path() + "/disk.qcow2";
  ASSERT_TRUE(run_checked({"truncate", "-s", "64M", base}).ok());
  auto r = create_overlay(base, ovl, 1ULL << 30);
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto info = run_checked({"qemu-img", "info", "-U", ovl});
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_NE(info->find("file format: qcow2"), std::string::npos) << *info;
  EXPECT_NE(info->find("virtual size: 1 GiB"), std::string::npos) << *info;
  EXPECT_NE(info->find("backing file: " + base), std::string::npos) << *info;
  EXPECT_NE(info->find("backing file format: raw"), std::string::npos) << *info;
  // Never clobber an existing sandbox disk.
  EXPECT_FALSE(create_overlay(base, ovl, 1ULL << 30).ok());
  EXPECT_TRUE(remove_overlay(ovl).ok());
  EXPECT_FALSE(path_exists(ovl));
  EXPECT_TRUE(remove_overlay(ovl).ok());  // idempotent
  EXPECT_FALSE(create_overlay(d->path() + "/missing.raw", ovl, 1ULL << 30).ok());
}

}  // namespace
}  // namespace sbx::image
