#include "agent/docker_storage.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>

#include "base/files.h"

namespace sbx::agent {
namespace {

TEST(DockerStorage, AllZero) {
  EXPECT_TRUE(all_zero(std::string(kBlankCheckBytes, '\0')));
  EXPECT_TRUE(all_zero(""));
  std::string s(kBlankCheckBytes, '\0');
  s[kBlankCheckBytes - 1] = 1;  // the ext4 superblock lives at 1 KiB; any byte counts
  EXPECT_FALSE(all_zero(s));
}

TEST(DockerStorage, FindsDockerdUnderARoot) {
  char tmpl[] = "/tmp/sbx-dockerd-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string root = tmpl;
  EXPECT_EQ(find_dockerd(root), "");
  ASSERT_TRUE(make_dirs(root + "/usr/sbin"));
  ASSERT_TRUE(write_file_atomic(root + "/usr/sbin/dockerd", "#!/bin/sh\n", 0755));
  EXPECT_EQ(find_dockerd(root), "/usr/sbin/dockerd");
  ASSERT_TRUE(make_dirs(root + "/usr/bin"));
  ASSERT_TRUE(write_file_atomic(root + "/usr/bin/dockerd", "#!/bin/sh\n", 0644));
  EXPECT_EQ(find_dockerd(root), "/usr/sbin/dockerd") << "not executable: skipped";
  (void)remove_tree(root);
}

}  // namespace
}  // namespace sbx::agent
