// Builds the real `shell` template with mmdebstrap from the host's Debian
// mirror (a minute or more), then checks its contents without mounting it.
#include <chrono>

#include <gtest/gtest.h>

#include "base/child_process.h"
#include "base/files.h"
#include "base/strings.h"
#include "image/disk_overlay.h"
#include "image/template_builder.h"

namespace sbx::image {
namespace {

// File contents read straight from the image (debugfs prints its banner on
// stderr, which must not mix into the answer).
std::string debugfs_cat(const std::string& image, const std::string& path) {
  auto r = run_command({"sh", "-c", "debugfs -R 'cat " + path + "' '" + image + "' 2>/dev/null"});
  return r ? r->output : "";
}

TEST(TemplateSlow, BuildsShellTemplate) {
  auto cache = TempDir::create("sbx-template-slow");
  ASSERT_TRUE(cache.ok());
  auto t0 = std::chrono::steady_clock::now();
  auto t = ensure_shell_template(cache->path(), [](const std::string& m) {
    std::printf("progress: %s\n", m.c_str());
  });
  ASSERT_TRUE(t.ok()) << t.error().message;
  std::printf("ensure_shell_template (cold): %.1f s\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  EXPECT_EQ(t->size_bytes, kTemplateDiskBytes);
  EXPECT_EQ(t->id.size(), 64u);
  EXPECT_NE(t->image.find("/templates/shell-" + t->id.substr(0, 16) + "/"), std::string::npos);
  auto du = run_checked({"du", "-h", t->image});
  ASSERT_TRUE(du.ok());
  std::printf("real disk use: %s", du->c_str());
  // No leftovers of the build.
  auto names = list_dir(cache->path() + "/templates");
  ASSERT_TRUE(names.ok());
  for (auto& n : *names) EXPECT_FALSE(starts_with(n, ".build-")) << n;

  auto fsck = run_command({"e2fsck", "-fn", t->image});
  ASSERT_TRUE(fsck.ok());
  EXPECT_EQ(fsck->status.code, 0) << fsck->output;
  auto label = run_checked({"e2label", t->image});
  ASSERT_TRUE(label.ok());
  EXPECT_EQ(trim(*label), "sbx-root");

  EXPECT_NE(debugfs_cat(t->image, "/etc/passwd")
                .find("agent:x:1000:1000::/home/agent:/bin/bash"),
            std::string::npos);
  std::string group = debugfs_cat(t->image, "/etc/group");
  EXPECT_NE(group.find("sudo:x:27:agent"), std::string::npos) << group;
  EXPECT_NE(group.find("docker:x:"), std::string::npos) << group;
  EXPECT_EQ(trim(debugfs_cat(t->image, "/etc/hostname")), "sbx");
  EXPECT_EQ(trim(debugfs_cat(t->image, "/etc/resolv.conf")), "nameserver 127.0.0.1");
  EXPECT_EQ(debugfs_cat(t->image, "/etc/machine-id"), "");
  EXPECT_NE(debugfs_cat(t->image, "/etc/sudoers.d/agent").find("NOPASSWD"),
            std::string::npos);
  auto stat = run_checked({"debugfs", "-R", "stat /etc/sudoers.d/agent", t->image});
  ASSERT_TRUE(stat.ok());
  EXPECT_NE(stat->find("Mode:  0440"), std::string::npos) << *stat;
  auto dockerd = run_checked({"debugfs", "-R", "stat /usr/sbin/dockerd", t->image});
  ASSERT_TRUE(dockerd.ok());
  EXPECT_NE(dockerd->find("Type: regular"), std::string::npos) << *dockerd;
  auto boot = run_checked({"debugfs", "-R", "ls /boot", t->image});
  ASSERT_TRUE(boot.ok());
  EXPECT_EQ(boot->find("vmlinuz"), std::string::npos) << "template must not hold a kernel";

  // Cached: immediate and identical.
  t0 = std::chrono::steady_clock::now();
  auto again = ensure_shell_template(cache->path(), nullptr);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->image, t->image);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 5.0);

  std::string ovl = cache->path() + "/sandbox.qcow2";
  ASSERT_TRUE(create_overlay(t->image, ovl, kTemplateDiskBytes).ok());
  auto info = run_checked({"qemu-img", "info", "-U", ovl});
  ASSERT_TRUE(info.ok());
  EXPECT_NE(info->find("virtual size: 20 GiB"), std::string::npos) << *info;
  EXPECT_TRUE(remove_overlay(ovl).ok());
}

}  // namespace
}  // namespace sbx::image
