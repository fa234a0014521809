// The CLI's lifecycle commands against real VMs: cp both ways (modes and
// symlinks kept), run from a script (no terminal), run --rm, ports,
// inspect --json, shell completion, and finally reset.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "base/files.h"
#include "base/strings.h"
#include "harness/sandbox_suite.h"

namespace sbx::testing {
namespace {

namespace fs = std::filesystem;

class LifecycleCliTest : public SandboxSuite<LifecycleCliTest> {
 public:
  static SandboxOptions options() {
    return {.name = "life", .workspace = "life-ws", .guest_user = ""};
  }
};

// Every entry below `root`, relative, with its type, mode and link target
// or content: two trees compare equal when these compare equal.
std::map<std::string, std::string> describe_tree(const std::string& root) {
  std::map<std::string, std::string> out;
  for (auto& e : fs::recursive_directory_iterator(root)) {
    struct stat st;
    if (::lstat(e.path().c_str(), &st) != 0) continue;
    std::string what = std::to_string(st.st_mode & 07777) + " ";
    if (S_ISLNK(st.st_mode))
      what += "link->" + fs::read_symlink(e.path()).string();
    else if (S_ISDIR(st.st_mode))
      what += "dir";
    else if (auto text = read_file(e.path()))
      what += "file:" + *text;
    else
      what += "unreadable";
    out[e.path().lexically_relative(root).string()] = what;
  }
  return out;
}

TEST_F(LifecycleCliTest, CpRoundTripsATreeWithModesAndSymlinks) {
  std::string src = env().root() + "/cp-src/tree";
  ASSERT_TRUE(make_dirs(src + "/private"));
  ASSERT_TRUE(write_file_atomic(src + "/private/secret", "s3cret\n", 0600));
  ASSERT_EQ(::chmod((src + "/private").c_str(), 0750), 0);
  ASSERT_TRUE(write_file_atomic(src + "/run.sh", "#!/bin/sh\necho ran\n", 0755));
  ASSERT_TRUE(write_file_atomic(src + "/plain.txt", "plain\n", 0644));
  ASSERT_EQ(::symlink("private/secret", (src + "/link").c_str()), 0);
  ASSERT_EQ(::symlink("/does/not/exist", (src + "/dangling").c_str()), 0);
  auto before = describe_tree(src);
  ASSERT_EQ(before.size(), 6u) << ::testing::PrintToString(before);

  // Host -> sandbox, to a new name outside the shared workspace.
  auto in = sbx({"cp", src, "life:/tmp/copied"});
  ASSERT_EQ(in.code, 0) << in.all();
  auto g = guest(
      "stat -c '%a %F %N' /tmp/copied/private /tmp/copied/private/secret "
      "/tmp/copied/run.sh /tmp/copied/link && /tmp/copied/run.sh");
  ASSERT_EQ(g.code, 0) << g.all();
  EXPECT_NE(g.out.find("750 directory"), std::string::npos) << g.out;
  EXPECT_NE(g.out.find("600 regular file"), std::string::npos) << g.out;
  EXPECT_NE(g.out.find("755 regular file"), std::string::npos) << g.out;
  EXPECT_NE(g.out.find("-> 'private/secret'"), std::string::npos) << g.out;
  EXPECT_NE(g.out.find("ran\n"), std::string::npos) << g.out;

  // Into an existing directory: the tree lands inside it, keeping its name.
  auto into = sbx({"cp", src, "life:/tmp"});
  ASSERT_EQ(into.code, 0) << into.all();
  EXPECT_EQ(guest("test -f /tmp/tree/private/secret").code, 0);

  // Sandbox -> host, to a new name, then compare everything.
  std::string back = env().root() + "/cp-back";
  auto out = sbx({"cp", "life:/tmp/copied", back});
  ASSERT_EQ(out.code, 0) << out.all();
  EXPECT_EQ(describe_tree(back), before);

  // Into an existing host directory.
  std::string dir = env().root() + "/cp-into";
  ASSERT_TRUE(make_dirs(dir));
  ASSERT_EQ(sbx({"cp", "life:/tmp/copied", dir}).code, 0);
  EXPECT_EQ(describe_tree(dir + "/copied"), before);
  // Nothing else was left next to it (no scratch directories).
  auto left = list_dir(dir);
  ASSERT_TRUE(left);
  EXPECT_EQ(*left, std::vector<std::string>{"copied"});
}

TEST_F(LifecycleCliTest, CpOfAMissingSourceSaysSo) {
  auto r = sbx({"cp", "life:/no/such/file", env().root() + "/x"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("'life:/no/such/file' does not exist"), std::string::npos) << r.err;
  EXPECT_FALSE(path_exists(env().root() + "/x"));
  auto h = sbx({"cp", env().root() + "/nope", "life:/tmp"});
  EXPECT_NE(h.code, 0);
  EXPECT_NE(h.err.find("does not exist"), std::string::npos) << h.err;
  auto both = sbx({"cp", "a", "b"});
  EXPECT_EQ(both.code, 125);
}

TEST_F(LifecycleCliTest, RunWorksFromAScriptWithoutATerminal) {
  auto r = sbx({"run", "life"}, "echo piped-$((1+1)); pwd; exit 4\n");
  EXPECT_EQ(r.code, 4) << r.all();
  EXPECT_NE(r.out.find("Starting shell agent in sandbox 'life'...\nWorkspace: " + ws() + "\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("piped-2\n" + ws() + "\n"), std::string::npos) << r.out;
  // Arguments after "--" go to the login shell.
  auto a = sbx({"run", "life", "--", "-c", "echo args-$((2+3)); exit 6"});
  EXPECT_EQ(a.code, 6) << a.all();
  EXPECT_NE(a.out.find("args-5\n"), std::string::npos) << a.out;
}

TEST_F(LifecycleCliTest, RunRmCreatesRunsAndRemoves) {
  auto ws = env().make_workspace("rm-ws");
  auto r = sbx({"run", "--rm", "--name", "gone", "-m", "1g", "shell", ws, "--", "-c", "exit 0"});
  ASSERT_EQ(r.code, 0) << r.all();
  EXPECT_NE(r.out.find("Created sandbox 'gone'"), std::string::npos) << r.out;
  auto ls = sbx({"ls", "-q"});
  ASSERT_EQ(ls.code, 0);
  EXPECT_EQ(ls.out.find("gone"), std::string::npos) << ls.out;
}

TEST_F(LifecycleCliTest, PortsPublishListUnpublish) {
  auto p = sbx({"ports", "life", "--publish", "5000"});
  ASSERT_EQ(p.code, 0) << p.all();
  std::smatch m;
  ASSERT_TRUE(
      std::regex_search(p.out, m, std::regex(R"(^Published 127\.0\.0\.1:(\d+) -> 5000/tcp\n$)")))
      << p.out;
  std::string host_port = m[1];
  auto j = nlohmann::json::parse(sbx({"ports", "life", "--json"}).out, nullptr, false);
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(std::to_string(j[0]["host_port"].get<int>()), host_port);
  EXPECT_EQ(sbx({"ports", "life", "--publish", "notaport"}).code, 125);
  auto u = sbx({"ports", "life", "--unpublish", host_port});
  ASSERT_EQ(u.code, 0) << u.all();
  EXPECT_EQ(u.out, "Unpublished 127.0.0.1:" + host_port + " -> 5000/tcp\n");
  EXPECT_EQ(sbx({"ports", "life"}).out, "HOST   SANDBOX PORT\n");
}

TEST_F(LifecycleCliTest, InspectJsonParses) {
  auto r = sbx({"inspect", "--json", "life"});
  ASSERT_EQ(r.code, 0) << r.all();
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_EQ(j["name"], "life");
  EXPECT_EQ(j["status"], "running");
  EXPECT_EQ(j["workspace"], ws());
  auto t = sbx({"inspect", "life"});
  ASSERT_EQ(t.code, 0);
  EXPECT_NE(t.out.find("Status:    running\n"), std::string::npos) << t.out;
  EXPECT_EQ(t.out.find('\033'), std::string::npos);  // NO_COLOR and not a terminal
  EXPECT_EQ(sbx({"inspect", "ghost"}).code, 125);
}

TEST_F(LifecycleCliTest, CompletionLoadsInBash) {
  auto r = run({"bash", "-c",
                "source <(" + sbx_cli_path() + " completion bash) && complete -p sbx"});
  EXPECT_EQ(r.code, 0) << r.all();
  EXPECT_EQ(r.out, "complete -F _sbx sbx\n");
  EXPECT_EQ(r.err, "");
}

// Last: it removes the suite's sandbox.
TEST_F(LifecycleCliTest, ZResetRemovesEverything) {
  auto ws = env().make_workspace("reset-ws");
  ASSERT_EQ(sbx({"create", "--name", "second", "-m", "1g", "shell", ws}).code, 0);
  // Without a terminal and without -f, reset refuses and changes nothing.
  auto refused = sbx({"reset"});
  EXPECT_EQ(refused.code, 125);
  EXPECT_NE(refused.err.find("-f"), std::string::npos) << refused.err;
  EXPECT_EQ(split(trim(sbx({"ls", "-q"}).out), '\n').size(), 2u);

  auto r = sbx({"reset", "-f"});
  ASSERT_EQ(r.code, 0) << r.all();
  EXPECT_NE(r.out.find("Removed 2 sandboxes"), std::string::npos) << r.out;
  auto ls = sbx({"ls", "-q"});
  ASSERT_EQ(ls.code, 0);
  EXPECT_EQ(ls.out, "");
  // And no VM of this suite survives.
  for (int i = 0; i < 50 && !qemu_pids_matching(env().root()).empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_TRUE(qemu_pids_matching(env().root()).empty());
}

}  // namespace
}  // namespace sbx::testing
