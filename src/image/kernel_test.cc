#include "image/kernel.h"

#include <gtest/gtest.h>

#include "base/child_process.h"
#include "base/files.h"

namespace sbx::image {
namespace {

TEST(Kernel, ParsesAptCachePolicy) {
  auto v = parse_candidate_version(
      "linux-image-amd64:\n  Installed: (none)\n  Candidate: 6.1.192-2\n"
      "  Version table:\n     6.1.192-2 500\n");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, "6.1.192-2");
  auto none = parse_candidate_version("foo:\n  Installed: (none)\n  Candidate: (none)\n");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find("apt-get update"), std::string::npos);
}

TEST(Kernel, ParsesMetapackageDependency) {
  auto pkg = parse_kernel_dependency(
      "Package: linux-image-amd64\nVersion: 6.1.192-2\n"
      "Depends: linux-image-6.1.0-56-amd64 (= 6.1.192-2)\nDescription: x\n");
  ASSERT_TRUE(pkg.ok());
  EXPECT_EQ(pkg->name, "linux-image-6.1.0-56-amd64");
  EXPECT_EQ(pkg->version, "6.1.192-2");
  auto alt = parse_kernel_dependency("Depends: foo, bar | linux-image-6.1.0-9-amd64\n");
  ASSERT_TRUE(alt.ok());
  EXPECT_EQ(alt->name, "linux-image-6.1.0-9-amd64");
  EXPECT_EQ(alt->version, "");
  EXPECT_FALSE(parse_kernel_dependency("Depends: initramfs-tools\n").ok());
}

TEST(Kernel, KernelRootStripsModulesSuffix) {
  KernelArtifacts k;
  k.version = "6.1.0-1-amd64";
  k.modules_dir = "/c/kernel/x/root/lib/modules/6.1.0-1-amd64";
  EXPECT_EQ(kernel_root(k), "/c/kernel/x/root");
}

class VmlinuxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::create("sbx-vmlinux-test");
    ASSERT_TRUE(d.ok());
    dir_.emplace(std::move(*d));
  }
  // Compresses `payload` with the xz tool and returns the stream's bytes.
  std::string xz(const std::string& payload) {
    std::string in = dir_->path() + "/payload";
    EXPECT_TRUE(write_file_atomic(in, payload).ok());
    auto r = run_checked({"xz", "-kf", "--check=crc32", in});
    EXPECT_TRUE(r.ok()) << (r ? "" : r.error().message);
    auto out = read_file(in + ".xz");
    EXPECT_TRUE(out.ok());
    return out ? *out : "";
  }
  std::optional<TempDir> dir_;
};

TEST_F(VmlinuxTest, ExtractsElfAfterGarbageAndDecoyMagic) {
  std::string elf = std::string("\x7f" "ELF\x02\x01\x01", 7) + std::string(5000, 'k');
  std::string blob = std::string(777, '\x11');
  // A bare magic (not a valid stream) before the payload must be skipped.
  blob += std::string("\xFD" "7zXZ\0", 6) + "not really xz";
  blob += xz(elf);
  blob += std::string(1234, '\x22');  // what follows the payload in a bzImage
  std::string bz = dir_->path() + "/vmlinuz";
  ASSERT_TRUE(write_file_atomic(bz, blob).ok());
  std::string out = dir_->path() + "/vmlinux";
  auto r = extract_vmlinux(bz, out);
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto got = read_file(out);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, elf);
}

TEST_F(VmlinuxTest, RejectsNonElfPayload) {
  std::string blob = std::string(100, 'g') + xz("this is not an ELF file at all");
  std::string bz = dir_->path() + "/vmlinuz";
  ASSERT_TRUE(write_file_atomic(bz, blob).ok());
  auto r = extract_vmlinux(bz, dir_->path() + "/vmlinux");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("not an ELF"), std::string::npos);
  EXPECT_FALSE(path_exists(dir_->path() + "/vmlinux"));
}

TEST_F(VmlinuxTest, RejectsBlobWithoutXz) {
  std::string bz = dir_->path() + "/vmlinuz";
  ASSERT_TRUE(write_file_atomic(bz, std::string(4096, 'z')).ok());
  auto r = extract_vmlinux(bz, dir_->path() + "/vmlinux");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("no XZ stream"), std::string::npos);
}

}  // namespace
}  // namespace sbx::image
