#include "cli/copy.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/child_process.h"
#include "base/files.h"

namespace sbx::cli {
namespace {

TEST(Copy, SandboxPathsAreNameColonPath) {
  auto p = split_sandbox_path("box:/tmp/x");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->first, "box");
  EXPECT_EQ(p->second, "/tmp/x");
  EXPECT_FALSE(split_sandbox_path("/abs/a:b"));   // absolute: a host path
  EXPECT_FALSE(split_sandbox_path("./box:x"));    // explicit relative host path
  EXPECT_FALSE(split_sandbox_path("Not A Name:x"));
  EXPECT_FALSE(split_sandbox_path("plain"));
}

TEST(Copy, ExactlyOneSideIsInASandbox) {
  auto in = parse_copy_args("./src", "box:/tmp/dst");
  ASSERT_TRUE(in) << in.error().message;
  EXPECT_TRUE(in->to_sandbox);
  EXPECT_EQ(in->sandbox, "box");
  EXPECT_EQ(in->guest_path, "/tmp/dst");
  EXPECT_EQ(in->host_path, "./src");
  auto out = parse_copy_args("box:/etc/hosts", ".");
  ASSERT_TRUE(out);
  EXPECT_FALSE(out->to_sandbox);
  EXPECT_EQ(out->host_path, ".");
  EXPECT_FALSE(parse_copy_args("a", "b"));
  EXPECT_FALSE(parse_copy_args("a:/x", "b:/y"));
  EXPECT_FALSE(parse_copy_args("box:", "."));
}

TEST(Copy, SplitParentIgnoresTrailingSlashes) {
  EXPECT_EQ(split_parent("/a/b/"), (std::pair<std::string, std::string>{"/a", "b"}));
  EXPECT_EQ(split_parent("/b"), (std::pair<std::string, std::string>{"/", "b"}));
  EXPECT_EQ(split_parent("b"), (std::pair<std::string, std::string>{".", "b"}));
  EXPECT_EQ(split_parent("/").second, "");
}

// The guest-side scripts are plain sh + GNU tar: run them here, where their
// docker-cp semantics can be checked without a VM.
struct GuestScripts : ::testing::Test {
  void SetUp() override {
    auto d = TempDir::create("cli-copy");
    ASSERT_TRUE(d);
    dir.emplace(std::move(*d));
    ASSERT_TRUE(make_dirs(root() + "/src/tree/sub"));
    ASSERT_TRUE(write_file_atomic(root() + "/src/tree/sub/f", "hello", 0600));
    ASSERT_EQ(::chmod((root() + "/src/tree/sub").c_str(), 0750), 0);
    ASSERT_TRUE(run_checked({"tar", "-c", "-f", root() + "/tree.tar", "-C", root() + "/src", "tree"}));
  }
  const std::string& root() { return dir->path(); }
  // Runs the extract script with tree.tar on stdin; returns its exit code.
  int extract(const std::string& dst) {
    Fd in(::open((root() + "/tree.tar").c_str(), O_RDONLY | O_CLOEXEC));
    SpawnOptions o;
    o.argv = guest_extract_command("tree", dst);
    o.stdin_fd = in.get();
    auto c = ChildProcess::spawn(o);
    if (!c) return -1;
    auto st = c->wait();
    return st ? st->shell_code() : -1;
  }
  std::optional<TempDir> dir;
};

TEST_F(GuestScripts, ExistingDirectoryReceivesTheCopyInside) {
  ASSERT_TRUE(make_dirs(root() + "/into"));
  ASSERT_EQ(extract(root() + "/into"), 0);
  EXPECT_EQ(*read_file(root() + "/into/tree/sub/f"), "hello");
  struct stat st;
  ASSERT_EQ(::stat((root() + "/into/tree/sub").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0750u);
  ASSERT_EQ(::stat((root() + "/into/tree/sub/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST_F(GuestScripts, OtherDestinationIsTheNewNameWithParentsMade) {
  ASSERT_EQ(extract(root() + "/a/b/renamed"), 0);
  EXPECT_EQ(*read_file(root() + "/a/b/renamed/sub/f"), "hello");
  // No scratch directory is left behind.
  auto left = list_dir(root() + "/a/b");
  ASSERT_TRUE(left);
  EXPECT_EQ(*left, std::vector<std::string>{"renamed"});
}

TEST_F(GuestScripts, ArchiveOfAMissingPathExitsWithTheMissingSourceCode) {
  auto r = run_command(guest_archive_command(root() + "/nope"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status.shell_code(), kCopyMissingSource);
  auto ok = run_command(guest_archive_command(root() + "/src/tree/"));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status.shell_code(), 0);
  EXPECT_NE(ok->output.find("tree/sub/f"), std::string::npos);  // tar headers name the entry
}

}  // namespace
}  // namespace sbx::cli
