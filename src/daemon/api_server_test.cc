// The real ApiServer on a unix socket in a temp dir, backed by a real
// SandboxManager, PolicyService and EgressService with temp state: every
// route that needs no VM, spoken to over raw HTTP.
#include "daemon/api_server.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/files.h"
#include "proto/api.h"
#include "sbx_version.h"

namespace sbx::daemon {
namespace {

struct HttpAnswer {
  int status = 0;
  std::string headers;
  std::string body;
};

// Reads until the server closes, bounded by a deadline (never hangs).
std::string read_to_eof(int fd, std::chrono::milliseconds limit) {
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    auto r = read_some(fd, 65536);
    if (!r || r->empty()) break;
    out += *r;
  }
  return out;
}

HttpAnswer parse_answer(const std::string& raw) {
  HttpAnswer a;
  auto end = raw.find("\r\n\r\n");
  if (raw.size() < 12 || end == std::string::npos) return a;
  a.status = std::stoi(raw.substr(9, 3));
  a.headers = raw.substr(0, end);
  a.body = raw.substr(end + 4);
  return a;
}

class ApiServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::signal(SIGPIPE, SIG_IGN);  // as sandboxd's main() does
    auto d = TempDir::create("sbx-api");
    ASSERT_TRUE(d.ok());
    dir_.emplace(std::move(*d));
    DaemonConfig cfg;
    cfg.paths.runtime = dir_->path() + "/run";
    cfg.paths.state = dir_->path() + "/state";
    cfg.paths.cache = dir_->path() + "/cache";
    cfg.paths.config = dir_->path() + "/config";
    ASSERT_TRUE(cfg.paths.ensure().ok());
    auto st = Store::open(cfg.paths.database());
    ASSERT_TRUE(st.ok()) << st.error().message;
    manager_ = std::make_unique<SandboxManager>(cfg, std::move(*st), log_);
    auto p = PolicyService::open(cfg.paths.state + "/policy.db", log_);
    ASSERT_TRUE(p.ok()) << p.error().message;
    policy_ = std::move(*p);
    auto e = EgressService::open(
        cfg.paths.state + "/network.db", [p = policy_.get()] { return p->current(); }, log_);
    ASSERT_TRUE(e.ok()) << e.error().message;
    egress_ = std::move(*e);
    socket_ = cfg.paths.runtime + "/api.sock";
    auto s = ApiServer::listen(socket_, *manager_, *policy_, *egress_, log_,
                               [this] { shutdown_asked_ = true; });
    ASSERT_TRUE(s.ok()) << s.error().message;
    server_ = std::move(*s);
    thread_ = std::thread([this] { server_->run(); });
  }
  void TearDown() override {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
  }

  // Sends raw bytes, half-closes, and reads the answer.
  HttpAnswer send_raw(const std::string& raw) {
    auto c = unix_connect(socket_);
    EXPECT_TRUE(c.ok()) << c.error().message;
    if (!c) return {};
    // The server may answer (413) and close before reading it all: the
    // answer is what counts, not whether every byte went out.
    (void)write_all(c->get(), raw);
    return parse_answer(read_to_eof(c->get(), std::chrono::seconds(20)));
  }
  HttpAnswer call(const std::string& method, const std::string& target,
                  const std::string& body = "") {
    return send_raw(method + " " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" +
                    "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  }
  // The {"message"} of an error answer.
  static std::string message(const HttpAnswer& a) {
    auto e = proto::parse_api_error(a.body);
    return e ? e->message : "(not an API error: " + a.body + ")";
  }

  std::optional<TempDir> dir_;
  Logger log_{stderr, LogLevel::kError};
  std::unique_ptr<SandboxManager> manager_;
  std::unique_ptr<PolicyService> policy_;
  std::unique_ptr<EgressService> egress_;
  std::string socket_;
  std::unique_ptr<ApiServer> server_;
  std::thread thread_;
  std::atomic<bool> shutdown_asked_{false};
};

TEST_F(ApiServerTest, ListsNoSandboxes) {
  auto a = call("GET", "/v1/sandboxes");
  EXPECT_EQ(a.status, 200) << a.body;
  auto l = proto::parse_sandbox_list(a.body);
  ASSERT_TRUE(l.ok()) << l.error().message;
  EXPECT_TRUE(l->empty());
}

TEST_F(ApiServerTest, Version) {
  auto a = call("GET", "/v1/version");
  EXPECT_EQ(a.status, 200);
  auto v = proto::parse_version_info(a.body);
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(v->version, SBX_VERSION);
  EXPECT_EQ(v->api, proto::kApiVersion);
}

TEST_F(ApiServerTest, UnknownSandboxIs404WithItsName) {
  auto a = call("GET", "/v1/sandboxes/ghost");
  EXPECT_EQ(a.status, 404);
  EXPECT_NE(message(a).find("ghost"), std::string::npos) << a.body;
  EXPECT_EQ(call("POST", "/v1/sandboxes/ghost/stop").status, 404);
  EXPECT_EQ(call("DELETE", "/v1/sandboxes/ghost").status, 404);
}

TEST_F(ApiServerTest, CreateRefusesBadRequestsWith400) {
  proto::CreateRequest r;
  r.workspace = "relative/dir";
  auto a = call("POST", "/v1/sandboxes", proto::to_json(r));
  EXPECT_EQ(a.status, 400) << a.body;
  EXPECT_NE(message(a).find("relative/dir"), std::string::npos) << a.body;
  r.workspace = dir_->path();
  r.name = "Bad Name";
  a = call("POST", "/v1/sandboxes", proto::to_json(r));
  EXPECT_EQ(a.status, 400) << a.body;
  EXPECT_NE(message(a).find("Bad Name"), std::string::npos) << a.body;
  a = call("POST", "/v1/sandboxes", "{\"cpus\":");
  EXPECT_EQ(a.status, 400) << a.body;
  EXPECT_NE(message(a).find("malformed"), std::string::npos) << a.body;
  a = call("POST", "/v1/sandboxes", R"({"cpus":"two"})");
  EXPECT_EQ(a.status, 400) << a.body;
  EXPECT_NE(message(a).find("'cpus'"), std::string::npos) << a.body;
}

TEST_F(ApiServerTest, UnknownRouteIs404AndWrongMethodIs405) {
  auto a = call("GET", "/v1/nothing/here");
  EXPECT_EQ(a.status, 404);
  EXPECT_NE(message(a).find("/v1/nothing/here"), std::string::npos) << a.body;
  EXPECT_EQ(call("GET", "/v2/sandboxes").status, 404);
  EXPECT_EQ(call("GET", "/v1/sandboxes/../../etc/passwd").status, 404);
  auto b = call("DELETE", "/v1/version");
  EXPECT_EQ(b.status, 405);
  EXPECT_NE(message(b).find("GET"), std::string::npos) << b.body;
  EXPECT_NE(b.headers.find("Allow: GET"), std::string::npos) << b.headers;
  auto c = call("PUT", "/v1/sandboxes/x");
  EXPECT_EQ(c.status, 405);
  EXPECT_NE(c.headers.find("GET, DELETE"), std::string::npos) << c.headers;
}

TEST_F(ApiServerTest, OversizedBodyIsRefused) {
  std::string big(kMaxRequestBody + 1, ' ');
  auto a = call("POST", "/v1/sandboxes", big);
  EXPECT_EQ(a.status, 413) << a.headers;
  EXPECT_NE(message(a).find("larger than"), std::string::npos) << a.body;
  // The server lives on.
  EXPECT_EQ(call("GET", "/v1/version").status, 200);
}

TEST_F(ApiServerTest, ExecNeedsTheUpgradeHeader) {
  auto a = call("POST", "/v1/sandboxes/x/exec", R"({"argv":["true"]})");
  EXPECT_EQ(a.status, 400);
  EXPECT_NE(message(a).find("Upgrade"), std::string::npos) << a.body;
}

TEST_F(ApiServerTest, KeepAliveServesSeveralRequests) {
  auto c = unix_connect(socket_);
  ASSERT_TRUE(c.ok());
  std::string get = "GET /v1/version HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_TRUE(
      write_all(c->get(), get + get + "GET /v1/nope HTTP/1.1\r\nConnection: close\r\n\r\n").ok());
  std::string all = read_to_eof(c->get(), std::chrono::seconds(20));
  size_t oks = 0;
  for (size_t at = 0; (at = all.find("HTTP/1.1 200", at)) != std::string::npos; ++at) ++oks;
  EXPECT_EQ(oks, 2u) << all;
  EXPECT_NE(all.find("HTTP/1.1 404"), std::string::npos) << all;
}

TEST_F(ApiServerTest, PolicyRoutesRoundTripTypedMessages) {
  auto add = call("POST", "/v1/policy/rules",
                  proto::to_json(proto::PolicyRuleRequest{"allow", "", "api.example.com"}));
  ASSERT_EQ(add.status, 201) << add.body;
  auto ids = proto::parse_policy_rule_added(add.body);
  ASSERT_TRUE(ids.ok()) << ids.error().message;
  ASSERT_EQ(ids->ids.size(), 1u);

  auto ls = call("GET", "/v1/policy");
  ASSERT_EQ(ls.status, 200) << ls.body;
  auto listing = proto::parse_policy_listing(ls.body);
  ASSERT_TRUE(listing.ok()) << listing.error().message;
  ASSERT_EQ(listing->rules.size(), 1u);
  EXPECT_EQ(listing->rules[0].id, ids->ids[0]);
  EXPECT_EQ(listing->rules[0].scope, "global");
  EXPECT_EQ(listing->rules[0].resource, "api.example.com");

  auto chk = call("POST", "/v1/policy/check",
                  proto::to_json(proto::PolicyCheckRequest{"", "api.example.com"}));
  ASSERT_EQ(chk.status, 200) << chk.body;
  auto d = proto::parse_policy_decision(chk.body);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_TRUE(d->allowed);
  EXPECT_EQ(d->rule_id, ids->ids[0]);

  auto rm = call("POST", "/v1/policy/remove",
                 proto::to_json(proto::PolicyRemoveRequest{ids->ids[0], "", ""}));
  ASSERT_EQ(rm.status, 200) << rm.body;
  auto n = proto::parse_policy_removed(rm.body);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->removed, 1u);
  EXPECT_EQ(call("POST", "/v1/policy/remove",
                 proto::to_json(proto::PolicyRemoveRequest{ids->ids[0], "", ""}))
                .status,
            404);

  EXPECT_EQ(
      call("POST", "/v1/policy/init", proto::to_json(proto::PolicyInitRequest{"deny-all"})).status,
      200);
  EXPECT_EQ(proto::parse_policy_listing(call("GET", "/v1/policy").body)->preset, "deny-all");
  EXPECT_EQ(call("POST", "/v1/policy/reset").status, 200);
  EXPECT_EQ(proto::parse_policy_listing(call("GET", "/v1/policy").body)->preset, "balanced");

  auto log = call("GET", "/v1/policy/log?limit=5");
  ASSERT_EQ(log.status, 200) << log.body;
  EXPECT_TRUE(proto::parse_network_log(log.body).ok()) << log.body;
}

TEST_F(ApiServerTest, PolicyRoutesRefuseBadInput) {
  auto a = call("POST", "/v1/policy/rules", R"({"resources":"a.com"})");
  EXPECT_EQ(a.status, 400);
  EXPECT_NE(message(a).find("'action'"), std::string::npos) << a.body;
  auto b = call("POST", "/v1/policy/rules", R"({"action":"maybe","resources":"a.com"})");
  EXPECT_EQ(b.status, 400) << b.body;
  auto c =
      call("POST", "/v1/policy/check", proto::to_json(proto::PolicyCheckRequest{"ghost", "a.com"}));
  EXPECT_EQ(c.status, 404);
  EXPECT_NE(message(c).find("ghost"), std::string::npos) << c.body;
  EXPECT_EQ(call("POST", "/v1/policy/init", "not json").status, 400);
  EXPECT_EQ(call("GET", "/v1/policy/log?limit=0").status, 400);
  EXPECT_EQ(call("GET", "/v1/policy/log?sandbox=ghost").status, 404);
  EXPECT_EQ(call("GET", "/v1/policy/log/stream?sandbox=ghost").status, 404);
  EXPECT_EQ(call("POST", "/v1/policy/bogus").status, 404);
}

TEST_F(ApiServerTest, ResetPruneAndShutdown) {
  auto r = call("POST", "/v1/reset");
  ASSERT_EQ(r.status, 200) << r.body;
  auto removed = proto::parse_reset_result(r.body);
  ASSERT_TRUE(removed.ok()) << removed.error().message;
  EXPECT_TRUE(removed->removed.empty());
  auto p = call("POST", "/v1/prune?dry_run=1");
  ASSERT_EQ(p.status, 200) << p.body;
  auto pr = proto::parse_prune_result(p.body);
  ASSERT_TRUE(pr.ok()) << pr.error().message;
  EXPECT_TRUE(pr->dry_run);
  EXPECT_FALSE(shutdown_asked_);
  EXPECT_EQ(call("POST", "/v1/shutdown").status, 200);
  EXPECT_TRUE(shutdown_asked_);
}

}  // namespace
}  // namespace sbx::daemon
