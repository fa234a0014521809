#include "agent/boot_config.h"

#include <gtest/gtest.h>

namespace sbx::agent {
namespace {

TEST(PercentDecode, DecodesEscapes) {
  EXPECT_EQ(percent_decode("/home/a%20b/c%25d"), "/home/a b/c%d");
  EXPECT_EQ(percent_decode("%2Fx%2f"), "/x/");
  EXPECT_EQ(percent_decode("plain"), "plain");
}

TEST(PercentDecode, RejectsMalformed) {
  EXPECT_FALSE(percent_decode("abc%2").has_value());
  EXPECT_FALSE(percent_decode("abc%").has_value());
  EXPECT_FALSE(percent_decode("%zz").has_value());
  EXPECT_FALSE(percent_decode("%00").has_value());
}

TEST(BootConfig, ParsesAllKeys) {
  std::vector<std::string> w;
  auto c = parse_boot_config(
      "console=ttyS0 panic=-1 quiet sbx.name=shell-x sbx.root=/dev/vdb "
      "sbx.ws_path=/home/me/my%20proj sbx.ws_tag=ws sbx.ws_fs=virtiofs "
      "sbx.uid=1000 sbx.gid=1001\n",
      &w);
  EXPECT_EQ(c.name, "shell-x");
  EXPECT_EQ(c.root, "/dev/vdb");
  EXPECT_EQ(c.ws_path, "/home/me/my proj");
  EXPECT_EQ(c.ws_tag, "ws");
  EXPECT_EQ(c.ws_fs, "virtiofs");
  ASSERT_TRUE(c.uid.has_value());
  EXPECT_EQ(*c.uid, 1000u);
  ASSERT_TRUE(c.gid.has_value());
  EXPECT_EQ(*c.gid, 1001u);
  EXPECT_TRUE(c.has_workspace());
  EXPECT_TRUE(w.empty()) << w[0];
}

TEST(BootConfig, DefaultsWhenKeysMissing) {
  auto c = parse_boot_config("console=ttyS0 root=/dev/sda");
  EXPECT_EQ(c.name, "");
  EXPECT_EQ(c.root, "/dev/vda");
  EXPECT_EQ(c.ws_fs, "9p");
  EXPECT_FALSE(c.uid.has_value());
  EXPECT_FALSE(c.gid.has_value());
  EXPECT_FALSE(c.has_workspace());
}

TEST(BootConfig, DropsInvalidValuesWithWarnings) {
  std::vector<std::string> w;
  auto c = parse_boot_config(
      "sbx.uid=abc sbx.ws_path=relative/p sbx.ws_tag=ws sbx.ws_fs=nfs sbx.root=vda "
      "sbx.name",
      &w);
  EXPECT_FALSE(c.uid.has_value());
  EXPECT_EQ(c.ws_path, "");
  EXPECT_EQ(c.ws_fs, "9p");
  EXPECT_EQ(c.root, "/dev/vda");
  EXPECT_FALSE(c.has_workspace());
  EXPECT_GE(w.size(), 5u);
}

TEST(BootConfig, RejectsDotDotInWorkspacePath) {
  auto c = parse_boot_config("sbx.ws_path=/a/%2E%2E/etc sbx.ws_tag=ws");
  EXPECT_EQ(c.ws_path, "");
  EXPECT_FALSE(c.has_workspace());
  auto bad = parse_boot_config("sbx.ws_path=/a%2 sbx.ws_tag=ws");
  EXPECT_EQ(bad.ws_path, "");
}

TEST(BootConfig, DockerKeys) {
  auto none = parse_boot_config("console=ttyS0 sbx.name=x");
  EXPECT_EQ(none.docker_disk, "");
  EXPECT_EQ(none.docker_mode, "boot");
  EXPECT_EQ(none.proxy, "");
  auto c = parse_boot_config(
      "sbx.docker_disk=/dev/vdb sbx.docker=socket sbx.proxy=http://127.0.0.1:3128");
  EXPECT_EQ(c.docker_disk, "/dev/vdb");
  EXPECT_EQ(c.docker_mode, "socket");
  EXPECT_EQ(c.proxy, "http://127.0.0.1:3128");
  std::vector<std::string> w;
  auto bad = parse_boot_config(
      "sbx.docker_disk=vdb sbx.docker=lazy sbx.proxy=socks5://x sbx.docker_disk=/dev/../x", &w);
  EXPECT_EQ(bad.docker_disk, "");
  EXPECT_EQ(bad.docker_mode, "boot");
  EXPECT_EQ(bad.proxy, "");
  EXPECT_EQ(w.size(), 4u);
}

}  // namespace
}  // namespace sbx::agent
