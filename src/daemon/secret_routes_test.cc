// The /v1/secrets routes over a real store and sandbox table (no VM): when
// a secret starts to apply, and the bypass list.
#include "daemon/secret_routes.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "base/files.h"

namespace sbx::daemon {
namespace {

const char* kHost = "api.anthropic.com";

class SecretRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::create("sbx-secret-routes");
    ASSERT_TRUE(d.ok());
    dir_.emplace(std::move(*d));
    DaemonConfig cfg;
    cfg.paths.runtime = dir_->path() + "/run";
    cfg.paths.state = dir_->path() + "/state";
    cfg.paths.cache = dir_->path() + "/cache";
    cfg.paths.config = dir_->path() + "/config";
    ASSERT_TRUE(cfg.paths.ensure().ok());
    auto st = Store::open(cfg.paths.database());
    ASSERT_TRUE(st.ok());
    store_ = st->get();
    mgr_ = std::make_unique<SandboxManager>(cfg, std::move(*st), log_);
    auto secrets = SecretStore::open(cfg.paths.state + "/secrets");
    ASSERT_TRUE(secrets.ok()) << secrets.error().message;
    secrets_ = std::move(*secrets);
    resolver_ =
        std::make_unique<CredentialResolver>(*secrets_, std::map<std::string, std::string>{});
    routes_ = std::make_unique<SecretRoutes>(*mgr_, *secrets_, *resolver_);
    routes_->install(router_);
  }

  // A sandbox row, as create() leaves it (stopped: nothing to boot).
  void add_sandbox(const std::string& name) {
    SandboxRecord r;
    r.name = name;
    r.agent = "shell";
    r.workspace = dir_->path();
    r.created_at = "2026-12-03T07:00:00Z";
    ASSERT_TRUE(store_->insert(r).ok());
  }

  // Calls a route; returns the status (the Error's code on failure) and body.
  std::pair<int, std::string> call(const std::string& method, const std::string& path,
                                   const std::string& body = "") {
    auto m = router_.match(method, path);
    if (!m) return {m.error().code, m.error().message};
    ApiRequest req;
    req.method = method;
    req.path = path;
    req.body = body;
    auto r = m->route->reply(req);
    if (!r) return {r.error().code == 0 ? 500 : r.error().code, r.error().message};
    return {r->status, r->body};
  }

  int set(const std::string& scope, const std::string& value) {
    nlohmann::json j{{"scope", scope}, {"service", "anthropic"}, {"value", value}};
    return call("POST", "/v1/secrets", j.dump()).first;
  }

  std::string key_for(const std::string& sandbox) {
    auto rules = resolver_->rules_for(sandbox, kHost);
    return rules.empty() ? "" : rules[0].value;
  }

  std::optional<TempDir> dir_;
  Logger log_{stderr, LogLevel::kError};
  Store* store_ = nullptr;
  std::unique_ptr<SandboxManager> mgr_;
  std::unique_ptr<SecretStore> secrets_;
  std::unique_ptr<CredentialResolver> resolver_;
  std::unique_ptr<SecretRoutes> routes_;
  ApiRouter router_;
};

TEST_F(SecretRoutesTest, GlobalSecretIsForLaterSandboxesAndAScopedOneAppliesAtOnce) {
  add_sandbox("old");
  ASSERT_EQ(set("", "global-1"), 201);
  EXPECT_EQ(key_for("old"), "") << "a global secret reached a sandbox created before it";
  add_sandbox("new");
  EXPECT_EQ(key_for("new"), "global-1");
  // Scoped: at once, even for the older sandbox.
  ASSERT_EQ(set("old", "scoped-1"), 201);
  EXPECT_EQ(key_for("old"), "scoped-1");
  // Rotating the global key reaches the sandboxes that had it, and no other.
  ASSERT_EQ(set("", "global-2"), 201);
  EXPECT_EQ(key_for("new"), "global-2");
  ASSERT_EQ(call("POST", "/v1/secrets/remove", R"({"scope":"old","service":"anthropic"})").first,
            200);
  EXPECT_EQ(key_for("old"), "");
  // The rule survives a daemon restart.
  auto reopened = SecretStore::open(secrets_->path().substr(0, secrets_->path().rfind('/')));
  ASSERT_TRUE(reopened.ok());
  CredentialResolver again(**reopened, {});
  EXPECT_TRUE(again.rules_for("old", kHost).empty());
  EXPECT_EQ(again.rules_for("new", kHost).at(0).value, "global-2");
  // A removed sandbox's name is free: a new sandbox of that name is new.
  ASSERT_TRUE(secrets_->forget_sandbox("old").ok());
  EXPECT_EQ(key_for("old"), "global-2");
}

TEST_F(SecretRoutesTest, BypassesAreNormalisedListedAndRemoved) {
  add_sandbox("s1");
  EXPECT_EQ(call("POST", "/v1/secrets/bypass", R"({"scope":"","host":"API.GitHub.com."})").first,
            201);
  EXPECT_EQ(call("POST", "/v1/secrets/bypass", R"({"scope":"s1","host":"pinned.example"})").first,
            201);
  EXPECT_EQ(call("POST", "/v1/secrets/bypass", R"({"scope":"ghost","host":"a.example"})").first,
            404);
  EXPECT_EQ(call("POST", "/v1/secrets/bypass", R"({"scope":"","host":"bad host!"})").first, 400);
  EXPECT_EQ(call("POST", "/v1/secrets/bypass", R"({"scope":""})").first, 400);
  auto [code, body] = call("GET", "/v1/secrets/bypass");
  ASSERT_EQ(code, 200);
  auto list = proto::parse_secret_bypass_list(body);
  ASSERT_TRUE(list.ok()) << body;
  ASSERT_EQ(list->size(), 2u) << body;
  EXPECT_EQ((*list)[0].host, "api.github.com");
  EXPECT_TRUE(resolver_->bypassed("any", "api.github.com"));
  EXPECT_TRUE(resolver_->bypassed("s1", "pinned.example"));
  EXPECT_FALSE(resolver_->bypassed("s2", "pinned.example"));
  EXPECT_FALSE(resolver_->bypassed("s1", "github.com"));
  auto reopened = SecretStore::open(secrets_->path().substr(0, secrets_->path().rfind('/')));
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->bypasses().size(), 2u) << "bypasses were not saved";
  EXPECT_EQ(
      call("POST", "/v1/secrets/bypass/remove", R"({"scope":"","host":"api.github.com"})").first,
      200);
  EXPECT_FALSE(resolver_->bypassed("any", "api.github.com"));
  EXPECT_EQ(
      call("POST", "/v1/secrets/bypass/remove", R"({"scope":"","host":"api.github.com"})").first,
      404);
  // Removing the sandbox drops its bypasses.
  ASSERT_TRUE(secrets_->forget_sandbox("s1").ok());
  EXPECT_TRUE(secrets_->bypasses().empty());
}

}  // namespace
}  // namespace sbx::daemon
