// A user's own kit on a real VM (`sbx create --kit DIR`): a small kit over
// `shell` whose install step writes a file (its layer builds in seconds, no
// network), with a kit file, an allow rule and host_config. The CLI sends
// the kit to sandboxd, which keeps a copy for the sandbox: the install
// step's file, the kit's file and the user's settings are in the guest, a
// settings file holding a token is not, the allow rule is the sandbox's,
// and `sbx rm` removes the copy. A broken kit fails naming file and line;
// a kit named like a built-in agent is refused.
//
// The user's home is a directory this test makes (HOME for sbx and
// sandboxd), so the host's real settings never enter the test.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "base/files.h"
#include "harness/harness.h"

namespace sbx::testing {
namespace {

const char* kKitYaml = R"(name: kit-e2e
kind: agent
description: sbx e2e test kit
parent: shell
install:
  - echo installed-by-kit > /usr/local/share/kit-e2e-marker
entry: [sh, -c, "echo kit-entry-ran"]
files:
  - {path: ~/.kit-e2e-file, source: files/hello.txt}
allow: [kit-e2e.example.com]
host_config:
  - .config/kit-e2e/
  - .kit-e2e.md
)";

// The shared cache, as the harness would find it before HOME moves.
std::string shared_cache() {
  if (const char* c = getenv("SBX_CACHE_DIR"); c && *c) return c;
  if (const char* x = getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/sbx";
  return std::string(getenv("HOME") ? getenv("HOME") : "/root") + "/.cache/sbx";
}

class KitsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto d = TempDir::create("sbx-kits-home");
    if (!d) abort();
    home_ = new TempDir(std::move(*d));
    const std::string& h = home_->path();
    (void)make_dirs(h + "/.config/kit-e2e");
    (void)write_file_atomic(h + "/.config/kit-e2e/settings.json", "{\"from\": \"the host\"}\n");
    // Named innocently: its content gives it away.
    (void)write_file_atomic(h + "/.config/kit-e2e/state.json",
                            "{\"key\": \"sk-ant-api03-not-a-real-key-but-shaped-like-one\"}\n");
    (void)write_file_atomic(h + "/.kit-e2e.md", "# my instructions\n");
    kit_ = h + "/kit";  // anywhere will do; the home is a temporary directory
    (void)make_dirs(kit_ + "/files");
    (void)write_file_atomic(kit_ + "/kit.yaml", kKitYaml);
    (void)write_file_atomic(kit_ + "/files/hello.txt", "hello from the kit\n");

    // Before the env: its daemon (started by the first sbx call) reads them.
    setenv("SBX_CACHE_DIR", shared_cache().c_str(), 1);
    setenv("HOME", h.c_str(), 1);
    env_ = new SbxEnv();
    ws_ = env_->make_workspace("kit-ws");
    create_ =
        new CmdResult(sbx({"create", "--name", "kits", "--memory", "1g", "--kit", kit_, ws_}));
    if (create_->code != 0) fprintf(stderr, "create failed:\n%s\n", create_->all().c_str());
  }
  static void TearDownTestSuite() {
    delete create_;
    delete env_;
    delete home_;
  }
  void SetUp() override {
    ASSERT_EQ(create_->code, 0) << "the suite's sandbox did not start:\n" << create_->all();
  }
  static CmdResult guest(const std::string& script) {
    return sbx({"exec", "kits", "--", "sh", "-c", script});
  }

  static inline TempDir* home_ = nullptr;
  static inline SbxEnv* env_ = nullptr;
  static inline CmdResult* create_ = nullptr;
  static inline std::string kit_, ws_;
};

TEST_F(KitsTest, TheKitsLayerAndFileAreInTheGuest) {
  auto m = guest("cat /usr/local/share/kit-e2e-marker");
  EXPECT_EQ(m.code, 0) << m.all();
  EXPECT_EQ(m.out, "installed-by-kit\n");
  auto f = guest("cat ~/.kit-e2e-file");
  EXPECT_EQ(f.code, 0) << f.all();
  EXPECT_EQ(f.out, "hello from the kit\n");
  // The sandbox is the kit's agent, with its entry command.
  auto ls = sbx({"ls", "--json"});
  ASSERT_EQ(ls.code, 0) << ls.all();
  auto j = nlohmann::json::parse(ls.out, nullptr, false);
  ASSERT_TRUE(j.is_array()) << ls.out;
  ASSERT_EQ(j.size(), 1u) << ls.out;
  EXPECT_EQ(j[0]["agent"], "kit-e2e");
  EXPECT_EQ(j[0]["entry"], nlohmann::json::array({"sh", "-c", "echo kit-entry-ran"}));
}

TEST_F(KitsTest, HostConfigIsCopiedButNotTheFileWithAToken) {
  auto s = guest("cat ~/.config/kit-e2e/settings.json ~/.kit-e2e.md");
  EXPECT_EQ(s.code, 0) << s.all();
  EXPECT_EQ(s.out, "{\"from\": \"the host\"}\n# my instructions\n");
  auto owner = guest("stat -c %U ~/.config/kit-e2e/settings.json; id -un");
  ASSERT_EQ(owner.code, 0) << owner.all();
  auto nl = owner.out.find('\n');
  EXPECT_EQ(owner.out.substr(0, nl + 1), owner.out.substr(nl + 1)) << owner.out;
  auto t = guest("test ! -e ~/.config/kit-e2e/state.json");
  EXPECT_EQ(t.code, 0) << "a file holding a token was copied";
  EXPECT_NE(create_->all().find(".config/kit-e2e/state.json not copied"), std::string::npos)
      << create_->all();
}

TEST_F(KitsTest, TheKitsAllowDomainIsARuleOfTheSandbox) {
  auto p = sbx({"policy", "ls", "--json"});
  ASSERT_EQ(p.code, 0) << p.all();
  auto j = nlohmann::json::parse(p.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << p.out;
  bool found = false;
  for (auto& r : j["rules"])
    if (r["resource"] == "kit-e2e.example.com" && r["scope"] == "kits" && r["action"] == "allow")
      found = true;
  EXPECT_TRUE(found) << p.out;
}

TEST_F(KitsTest, ABrokenKitNamesFileAndLine) {
  std::string bad = home_->path() + "/bad-kit";
  ASSERT_TRUE(make_dirs(bad));
  ASSERT_TRUE(write_file_atomic(bad + "/kit.yaml", "name: bad\nkind: agent\nentrypoint: [x]\n"));
  auto r = sbx({"create", "--kit", bad, ws_});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find(bad + "/kit.yaml:3:1: "), std::string::npos) << r.all();
}

TEST_F(KitsTest, AKitMayNotTakeABuiltInAgentsName) {
  std::string k = home_->path() + "/shell-kit";
  ASSERT_TRUE(make_dirs(k));
  ASSERT_TRUE(write_file_atomic(k + "/kit.yaml", "name: shell\nkind: agent\nentry: [sh]\n"));
  auto r = sbx({"create", "--name", "impostor", "--kit", k, ws_});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("which is a built-in agent's name"), std::string::npos) << r.all();
}

// Last: it removes the suite's sandbox.
TEST_F(KitsTest, RmRemovesTheKitsCopyAndRule) {
  std::string copy = env_->state_dir() + "/kits/kits";
  EXPECT_TRUE(path_exists(copy + "/kit.yaml"));
  EXPECT_TRUE(path_exists(copy + "/files/hello.txt"));
  auto r = sbx({"rm", "-f", "kits"});
  ASSERT_EQ(r.code, 0) << r.all();
  EXPECT_FALSE(path_exists(copy));
  auto p = sbx({"policy", "ls", "--json"});
  EXPECT_EQ(p.out.find("kit-e2e.example.com"), std::string::npos) << p.out;
}

}  // namespace
}  // namespace sbx::testing
