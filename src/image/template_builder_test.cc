#include "image/template_builder.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "base/child_process.h"
#include "base/files.h"

namespace sbx::image {
namespace {

// What debugfs says of one inode of an ext4 image, e.g. "User:  4242".
std::string inode_stat(const std::string& image, const std::string& path) {
  auto r = run_checked({"debugfs", "-R", "stat " + path, image});
  return r ? *r : r.error().message;
}

// The rootless path: mmdebstrap's tarball carries the guest's owners and
// device nodes, which the builder (not root) cannot create; packing under
// fakeroot must still put them into the image. A root suite packs as the
// user nobody, so the check means the same for root and non-root runs.
TEST(PackCommand, KeepsTheTarballsOwnersModesAndDeviceNodesWithoutRoot) {
  auto d = TempDir::create("sbx-pack-test");
  ASSERT_TRUE(d.ok());
  std::string src = d->path() + "/src";
  ASSERT_TRUE(make_dirs(src + "/home/agent").ok());
  ASSERT_TRUE(write_file_atomic(src + "/home/agent/notes", "hi\n").ok());
  ASSERT_TRUE(write_file_atomic(src + "/sudo", "#!/bin/sh\n", 04755).ok());
  std::string tarball = d->path() + "/rootfs.tar";
  // A tarball as mmdebstrap makes it: owners that are not the builder's, a
  // setuid file and a device node (made inside the same fakeroot session).
  auto made = run_checked(
      {"fakeroot", "sh", "-c",
       "set -e; mknod \"$1/null\" c 1 3; chown -R 1000:1000 \"$1/home/agent\"; "
       "chown 0:0 \"$1/sudo\"; chmod 04755 \"$1/sudo\"; tar -C \"$1\" --numeric-owner -cf \"$2\" .",
       "mk", src, tarball});
  ASSERT_TRUE(made.ok()) << made.error().message;

  std::string tree = d->path() + "/tree";
  ASSERT_TRUE(make_dirs(tree).ok());
  std::string image = d->path() + "/rootfs.ext4";
  std::vector<std::string> argv;
  if (::geteuid() == 0) {
    ASSERT_TRUE(run_checked({"chown", "-R", "65534:65534", d->path()}).ok());
    argv = {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"};
  }
  for (auto& a : pack_command(tarball, tree, image, /*as_root=*/false)) argv.push_back(a);
  auto packed = run_checked(argv);
  ASSERT_TRUE(packed.ok()) << packed.error().message;

  std::string notes = inode_stat(image, "/home/agent/notes");
  EXPECT_NE(notes.find("User:  1000"), std::string::npos) << notes;
  EXPECT_NE(notes.find("Group:  1000"), std::string::npos) << notes;
  std::string sudo = inode_stat(image, "/sudo");
  EXPECT_NE(sudo.find("Mode:  04755"), std::string::npos) << sudo;
  EXPECT_NE(sudo.find("User:     0"), std::string::npos) << sudo;
  std::string null = inode_stat(image, "/null");
  EXPECT_NE(null.find("Type: character special"), std::string::npos) << null;
  EXPECT_NE(null.find("Device major/minor number: 01:03"), std::string::npos) << null;
}

TEST(PackCommand, RunsUnderFakerootOnlyWithoutRoot) {
  EXPECT_EQ(pack_command("t", "d", "i", false).front(), "fakeroot");
  EXPECT_EQ(pack_command("t", "d", "i", true).front(), "sh");
}

}  // namespace
}  // namespace sbx::image
