#include "daemon/secret_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "base/files.h"
#include "daemon/credential_resolver.h"

namespace sbx::daemon {
namespace {

int mode_of(const std::string& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 0777;
}

StoredSecret builtin(const std::string& scope, const std::string& service, const std::string& v) {
  StoredSecret s;
  s.scope = scope;
  s.service = service;
  s.value = v;
  return s;
}

TEST(SecretStore, FileIs0600InA0700DirAndSurvivesReopen) {
  auto tmp = TempDir::create("secrets");
  std::string dir = tmp->path() + "/secrets";
  auto store = SecretStore::open(dir);
  ASSERT_TRUE(store.ok()) << store.error().message;
  ASSERT_TRUE((*store)->set(builtin("", "anthropic", "sk-ant-api03-AAA")).ok());
  ASSERT_TRUE((*store)->set(builtin("s1", "openai", "sk-BBB")).ok());
  EXPECT_EQ(mode_of(dir), 0700);
  EXPECT_EQ(mode_of((*store)->path()), 0600);
  auto again = SecretStore::open(dir);
  ASSERT_TRUE(again.ok()) << again.error().message;
  auto all = (*again)->all();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].value, "sk-ant-api03-AAA");
  EXPECT_EQ(all[1].scope, "s1");
}

TEST(SecretStore, LooseModesStopTheDaemonWithAFix) {
  auto tmp = TempDir::create("secrets");
  std::string dir = tmp->path() + "/secrets";
  {
    auto store = SecretStore::open(dir);
    ASSERT_TRUE((*store)->set(builtin("", "anthropic", "sk-ant-api03-AAA")).ok());
  }
  ASSERT_EQ(::chmod((dir + "/secrets.json").c_str(), 0640), 0);
  auto r = SecretStore::open(dir);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("chmod 600"), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().message.find("sk-ant"), std::string::npos);
  ASSERT_EQ(::chmod((dir + "/secrets.json").c_str(), 0600), 0);
  ASSERT_EQ(::chmod(dir.c_str(), 0755), 0);
  r = SecretStore::open(dir);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("chmod 700"), std::string::npos) << r.error().message;
  ASSERT_EQ(::chmod(dir.c_str(), 0700), 0);
  EXPECT_TRUE(SecretStore::open(dir).ok());
}

TEST(SecretStore, RemoveForgetAndClear) {
  auto tmp = TempDir::create("secrets");
  auto store = SecretStore::open(tmp->path() + "/s");
  ASSERT_TRUE(store.ok());
  auto& s = **store;
  ASSERT_TRUE(s.set(builtin("", "anthropic", "a")).ok());
  ASSERT_TRUE(s.set(builtin("s1", "anthropic", "b")).ok());
  ASSERT_TRUE(s.set(builtin("s1", "openai", "c")).ok());
  auto missing = s.remove("", "openai");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, kNotFound);
  ASSERT_TRUE(s.remove("", "anthropic").ok());
  ASSERT_TRUE(s.forget_sandbox("s1").ok());
  EXPECT_TRUE(s.all().empty());
  ASSERT_TRUE(s.set(builtin("", "github", "g")).ok());
  ASSERT_TRUE(s.clear().ok());
  EXPECT_TRUE((*SecretStore::open(tmp->path() + "/s"))->all().empty());
}

TEST(SecretStore, ValuesThatCouldSplitAHeaderAreRefused) {
  auto tmp = TempDir::create("secrets");
  auto store = SecretStore::open(tmp->path() + "/s");
  EXPECT_FALSE((*store)->set(builtin("", "anthropic", "a\r\nX-Evil: 1")).ok());
  EXPECT_FALSE((*store)->set(builtin("", "anthropic", "")).ok());
}

class ResolverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto tmp = TempDir::create("resolver");
    ASSERT_TRUE(tmp.ok());
    tmp_ = std::make_unique<TempDir>(std::move(*tmp));
    auto store = SecretStore::open(tmp_->path() + "/s");
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(*store);
  }
  std::unique_ptr<TempDir> tmp_;
  std::unique_ptr<SecretStore> store_;
};

TEST_F(ResolverTest, StoredBeatsHostEnvAndSandboxBeatsGlobal) {
  CredentialResolver r(*store_, {{"ANTHROPIC_API_KEY", "from-env"}, {"UNRELATED", "x"}});
  auto rules = r.rules_for("s1", "api.anthropic.com");
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0].value, "from-env");
  EXPECT_EQ(rules[0].header, "x-api-key");
  ASSERT_TRUE(store_->set(builtin("", "anthropic", "global-v")).ok());
  EXPECT_EQ(r.rules_for("s1", "api.anthropic.com").at(0).value, "global-v");
  ASSERT_TRUE(store_->set(builtin("s1", "anthropic", "sandbox-v")).ok());
  EXPECT_EQ(r.rules_for("s1", "api.anthropic.com").at(0).value, "sandbox-v");
  EXPECT_EQ(r.rules_for("s2", "api.anthropic.com").at(0).value, "global-v");
}

TEST_F(ResolverTest, OnlyTheServiceHostsGetRules) {
  CredentialResolver r(*store_, {});
  ASSERT_TRUE(store_->set(builtin("", "anthropic", "k")).ok());
  ASSERT_TRUE(store_->set(builtin("", "github", "g")).ok());
  EXPECT_TRUE(r.rules_for("s1", "api.anthropic.com.evil.test").empty());
  EXPECT_TRUE(r.rules_for("s1", "evil.test").empty());
  EXPECT_TRUE(r.rules_for("s1", "anthropic.com").empty());
  auto gh = r.rules_for("s1", "github.com");
  ASSERT_EQ(gh.size(), 1u);
  EXPECT_EQ(gh[0].format, net::CredentialFormat::kBasicToken);
  EXPECT_EQ(r.rules_for("s1", "api.github.com").at(0).format, net::CredentialFormat::kBearer);
}

TEST_F(ResolverTest, SubscriptionTokenGoesInAsBearer) {
  CredentialResolver r(*store_, {});
  ASSERT_TRUE(store_->set(builtin("", "anthropic", "sk-ant-oat01-XYZ")).ok());
  auto rules = r.rules_for("s1", "api.anthropic.com");
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0].header, "Authorization");
  EXPECT_EQ(rules[0].format, net::CredentialFormat::kBearer);
  auto env = r.guest_env("s1");
  EXPECT_NE(std::find(env.begin(), env.end(), "CLAUDE_CODE_OAUTH_TOKEN=proxy-managed"), env.end());
}

TEST_F(ResolverTest, GuestSeesOnlySentinelsAndPlaceholders) {
  CredentialResolver r(*store_, {{"OPENAI_API_KEY", "sk-openai-REAL"}});
  ASSERT_TRUE(store_->set(builtin("", "anthropic", "sk-ant-REAL")).ok());
  StoredSecret c;
  c.service = c.env = "MY_TOKEN";
  c.custom = true;
  c.hosts = {"api.example.com"};
  c.placeholder = "PLACEHOLDER-123";
  c.value = "custom-REAL";
  ASSERT_TRUE(store_->set(c).ok());
  auto env = r.guest_env("s1");
  std::string all;
  for (auto& e : env) all += e + "\n";
  EXPECT_NE(all.find("ANTHROPIC_API_KEY=proxy-managed\n"), std::string::npos) << all;
  EXPECT_NE(all.find("OPENAI_API_KEY=proxy-managed\n"), std::string::npos) << all;
  EXPECT_NE(all.find("MY_TOKEN=PLACEHOLDER-123\n"), std::string::npos) << all;
  EXPECT_EQ(all.find("REAL"), std::string::npos) << all;
  auto rules = r.rules_for("s1", "api.example.com");
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0].placeholder, "PLACEHOLDER-123");
  EXPECT_EQ(rules[0].value, "custom-REAL");
}

}  // namespace
}  // namespace sbx::daemon
