// Downloads the real Debian kernel package through the host's apt and builds
// an initramfs from it. Needs apt lists and Debian's archive.
#include <chrono>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "base/child_process.h"
#include "base/files.h"
#include "base/strings.h"
#include "image/initramfs.h"
#include "image/kernel.h"

namespace sbx::image {
namespace {

TEST(KernelSlow, DownloadsExtractsAndBuildsInitramfs) {
  auto cache = TempDir::create("sbx-kernel-slow");
  ASSERT_TRUE(cache.ok());
  std::vector<std::string> msgs;
  auto t0 = std::chrono::steady_clock::now();
  auto k = ensure_kernel(cache->path(), [&](const std::string& m) {
    msgs.push_back(m);
    std::printf("progress: %s\n", m.c_str());
  });
  ASSERT_TRUE(k.ok()) << k.error().message;
  std::printf("ensure_kernel (cold): %.1f s\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  EXPECT_TRUE(ends_with(k->version, "-amd64")) << k->version;
  EXPECT_FALSE(k->package_version.empty());
  EXPECT_FALSE(msgs.empty());
  auto head = read_file(k->vmlinux);
  ASSERT_TRUE(head.ok());
  ASSERT_GT(head->size(), 10u << 20);
  EXPECT_EQ(head->substr(0, 4), "\x7f" "ELF");
  EXPECT_TRUE(path_exists(k->modules_dir + "/modules.dep.bin"));

  // Second call: served from the cache, no progress, same answer.
  msgs.clear();
  t0 = std::chrono::steady_clock::now();
  auto again = ensure_kernel(cache->path(), [&](const std::string& m) { msgs.push_back(m); });
  ASSERT_TRUE(again.ok()) << again.error().message;
  double warm = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("ensure_kernel (cached): %.3f s\n", warm);
  EXPECT_TRUE(msgs.empty());
  EXPECT_EQ(again->vmlinux, k->vmlinux);
  EXPECT_EQ(again->version, k->version);

  // Module resolution: every module's dependencies come before it.
  auto wanted = default_guest_modules();
  wanted.push_back("no_such_module_sbx");
  auto plan = resolve_modules(*k, wanted);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(plan->missing, std::vector<std::string>{"no_such_module_sbx"});
  std::printf("modules: %zu files; builtin: %s\n", plan->files.size(),
              join(plan->builtin, ",").c_str());
  std::map<std::string, size_t> pos;
  for (size_t i = 0; i < plan->files.size(); ++i) {
    std::string f = plan->files[i];
    f = f.substr(f.rfind('/') + 1);
    pos[f] = i;
  }
  ASSERT_TRUE(pos.count("virtio_mmio.ko"));
  ASSERT_TRUE(pos.count("virtio.ko"));
  EXPECT_LT(pos["virtio.ko"], pos["virtio_mmio.ko"]);
  EXPECT_LT(pos["9pnet.ko"], pos["9pnet_virtio.ko"]);
  EXPECT_LT(pos["x_tables.ko"], pos["xt_MASQUERADE.ko"]);
  EXPECT_LT(pos["nf_conntrack.ko"], pos["nf_nat.ko"]);
  EXPECT_LT(pos["fuse.ko"], pos["virtiofs.ko"]);
  EXPECT_LT(pos["bridge.ko"], pos["br_netfilter.ko"]);

  // Build an initramfs with a stand-in agent and inspect it with cpio.
  std::string agent = cache->path() + "/fake-agent";
  ASSERT_TRUE(write_file_atomic(agent, "\x7f" "ELF fake agent", 0755).ok());
  t0 = std::chrono::steady_clock::now();
  auto cpio = ensure_initramfs(cache->path(), *k, agent, default_guest_modules(), nullptr);
  ASSERT_TRUE(cpio.ok()) << cpio.error().message;
  double build_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto size = read_file(*cpio);
  ASSERT_TRUE(size.ok());
  std::printf("initramfs: %.1f MiB in %.2f s at %s\n", size->size() / 1048576.0, build_s,
              cpio->c_str());
  EXPECT_TRUE(ends_with(*cpio, ".cpio"));
  auto again_cpio =
      ensure_initramfs(cache->path(), *k, agent, default_guest_modules(), nullptr);
  ASSERT_TRUE(again_cpio.ok());
  EXPECT_EQ(*again_cpio, *cpio);

  auto listing = run_checked({"sh", "-c", "cpio -it --quiet < '" + *cpio + "'"});
  ASSERT_TRUE(listing.ok()) << listing.error().message;
  std::set<std::string> names;
  for (auto& n : split(trim(*listing), '\n')) names.insert(n);
  for (const char* want : {"init", "dev", "dev/console", "proc", "sys", "newroot",
                           "etc/sbx", "etc/sbx/modules"})
    EXPECT_TRUE(names.count(want)) << want;

  auto x = TempDir::create("sbx-initramfs-x");
  ASSERT_TRUE(x.ok());
  ASSERT_TRUE(run_checked({"sh", "-c",
                           "cpio -id --quiet --no-absolute-filenames "
                           "'etc/sbx/modules' 'init' < '" + *cpio + "'"},
                          x->path())
                  .ok());
  EXPECT_EQ(*read_file(x->path() + "/init"), "\x7f" "ELF fake agent");
  auto list = read_file(x->path() + "/etc/sbx/modules");
  ASSERT_TRUE(list.ok());
  auto lines = split(trim(*list), '\n');
  ASSERT_EQ(lines.size(), plan->files.size());
  for (auto& l : lines) {
    EXPECT_TRUE(starts_with(l, "/lib/modules/" + k->version + "/")) << l;
    EXPECT_TRUE(names.count(l.substr(1))) << l;
  }
}

}  // namespace
}  // namespace sbx::image
