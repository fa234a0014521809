#include "image/initramfs.h"

#include <algorithm>

#include <gtest/gtest.h>

#include "base/files.h"

namespace sbx::image {
namespace {

TEST(Initramfs, ParsesShowDepends) {
  auto d = parse_show_depends(
      "insmod /k/lib/modules/v/kernel/net/netfilter/x_tables.ko \n"
      "insmod /k/lib/modules/v/kernel/net/netfilter/nf_conntrack.ko.xz hashsize=1\n"
      "builtin virtio_mmio\n"
      "softdep-ignored junk\n");
  EXPECT_EQ(d.insmod, (std::vector<std::string>{
                          "/k/lib/modules/v/kernel/net/netfilter/x_tables.ko",
                          "/k/lib/modules/v/kernel/net/netfilter/nf_conntrack.ko.xz"}));
  EXPECT_EQ(d.builtin, std::vector<std::string>{"virtio_mmio"});
}

TEST(Initramfs, ModulePathsInsideTheArchive) {
  KernelArtifacts k;
  k.version = "6.1.0-9-amd64";
  k.modules_dir = "/cache/kernel/p/root/lib/modules/6.1.0-9-amd64";
  EXPECT_EQ(initramfs_module_path(k, k.modules_dir + "/kernel/fs/9p/9p.ko"),
            "/lib/modules/6.1.0-9-amd64/kernel/fs/9p/9p.ko");
  // Compressed modules are stored decompressed.
  EXPECT_EQ(initramfs_module_path(k, k.modules_dir + "/kernel/fs/fuse/fuse.ko.xz"),
            "/lib/modules/6.1.0-9-amd64/kernel/fs/fuse/fuse.ko");
}

TEST(Initramfs, DefaultModulesCoverWorkspaceAndDocker) {
  auto m = default_guest_modules();
  for (const char* want : {"virtio_blk", "virtio_console", "9p", "9pnet_virtio",
                           "virtiofs", "overlay", "br_netfilter", "xt_MASQUERADE",
                           // egress interception in the guest
                           "dummy", "xt_REDIRECT", "ipt_REJECT", "xt_addrtype"})
    EXPECT_NE(std::find(m.begin(), m.end(), want), m.end()) << want;
}

TEST(Initramfs, ResolveNeedsDepmodOutput) {
  auto d = TempDir::create("sbx-initramfs-test");
  ASSERT_TRUE(d.ok());
  KernelArtifacts k;
  k.version = "1.0";
  k.modules_dir = d->path() + "/lib/modules/1.0";
  ASSERT_TRUE(make_dirs(k.modules_dir).ok());
  auto r = resolve_modules(k, {"9p"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("depmod"), std::string::npos);
}

}  // namespace
}  // namespace sbx::image
