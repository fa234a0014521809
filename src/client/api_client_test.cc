#include "client/api_client.h"

#include <gtest/gtest.h>
#include <cstdio>
#include <unistd.h>

#include "base/files.h"
#include "base/strings.h"
#include "client/fake_daemon.h"

namespace sbx::client {
namespace {

using proto::FrameType;
using testing::FakeDaemon;
using testing::FakeRequest;

struct ApiClientTest : ::testing::Test {
  void SetUp() override {
    auto d = TempDir::create("cli-api");
    ASSERT_TRUE(d);
    dir.emplace(std::move(*d));
    socket = dir->path() + "/sandboxd.sock";
  }
  void serve(FakeDaemon::Handler h) {
    auto f = FakeDaemon::start(socket, std::move(h));
    ASSERT_TRUE(f) << f.error().message;
    fake = std::move(*f);
  }
  std::optional<TempDir> dir;
  std::string socket;
  std::unique_ptr<FakeDaemon> fake;
};

TEST_F(ApiClientTest, MissingSocketMeansNoDaemon) {
  ApiClient c(socket);
  auto v = c.version();
  ASSERT_FALSE(v);
  EXPECT_TRUE(daemon_absent(v.error()));
  EXPECT_EQ(v.error().code, kNoDaemon);
}

TEST_F(ApiClientTest, DecodesAnswers) {
  serve([](const FakeRequest& r, int fd) {
    if (r.target == "/v1/version")
      testing::respond(fd, 200, R"({"version":"9.9.9","api":1,"git":"abc"})");
    else if (r.target == "/v1/sandboxes")
      testing::respond(fd, 200, R"({"sandboxes":[{"name":"a","agent":"shell","status":"running"}]})");
    else
      testing::respond(fd, 500, R"({"message":"unexpected"})");
  });
  ApiClient c(socket);
  auto v = c.version();
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(v->version, "9.9.9");
  auto l = c.list();
  ASSERT_TRUE(l) << l.error().message;
  ASSERT_EQ(l->size(), 1u);
  EXPECT_EQ((*l)[0].name, "a");
  auto j = c.list_json();
  ASSERT_TRUE(j);
  EXPECT_EQ(j->front(), '[');
  EXPECT_NE(j->find("\"a\""), std::string::npos);
}

TEST_F(ApiClientTest, ErrorStatusCarriesTheDaemonsMessage) {
  serve([](const FakeRequest&, int fd) {
    testing::respond(fd, 404, R"({"message":"no sandbox named 'ghost'"})");
  });
  ApiClient c(socket);
  auto s = c.get("ghost");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message, "no sandbox named 'ghost'");
  EXPECT_EQ(s.error().code, 404);
  EXPECT_FALSE(daemon_absent(s.error()));
}

TEST_F(ApiClientTest, NonJsonErrorIsStillReported) {
  serve([](const FakeRequest&, int fd) { testing::respond(fd, 502, "bad gateway"); });
  ApiClient c(socket);
  auto s = c.stop("x");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("HTTP 502"), std::string::npos);
}

TEST_F(ApiClientTest, RequestsUseTheDocumentedRoutes) {
  serve([](const FakeRequest& r, int fd) {
    if (r.method == "DELETE") return testing::respond(fd, 204, "");
    testing::respond(fd, r.target == "/v1/sandboxes" ? 201 : 200,
                     R"({"name":"n","agent":"shell","status":"running","workspace":"/w"})");
  });
  ApiClient c(socket);
  proto::CreateRequest req;
  req.name = "n";
  req.workspace = "/w";
  req.memory_bytes = 1 << 30;
  ASSERT_TRUE(c.create(req));
  ASSERT_TRUE(c.start("n"));
  ASSERT_TRUE(c.stop("n"));
  ASSERT_TRUE(c.remove("n", true));
  ASSERT_TRUE(c.remove("a/b", false));
  auto seen = fake->requests();
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].target, "/v1/sandboxes");
  auto body = proto::parse_create_request(seen[0].body);
  ASSERT_TRUE(body);
  EXPECT_EQ(body->memory_bytes, 1u << 30);
  EXPECT_EQ(seen[1].target, "/v1/sandboxes/n/start");
  EXPECT_EQ(seen[2].target, "/v1/sandboxes/n/stop");
  EXPECT_EQ(seen[3].method, "DELETE");
  EXPECT_EQ(seen[3].target, "/v1/sandboxes/n?force=1");
  EXPECT_EQ(seen[4].target, "/v1/sandboxes/a%2Fb");
}

TEST_F(ApiClientTest, ExecCannotRunSurfacesExitCode) {
  serve([](const FakeRequest&, int fd) {
    testing::respond(fd, 400, R"({"message":"nosuchcmd: command not found","exit_code":127})");
  });
  ApiClient c(socket);
  proto::ExecRequest req;
  req.argv = {"nosuchcmd"};
  auto s = c.exec("box", req);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().exit_code, 127);
  EXPECT_EQ(s.error().code, 400);
  EXPECT_EQ(s.error().message, "nosuchcmd: command not found");
}

TEST_F(ApiClientTest, StreamsLinesAcrossChunksUntilTheCallerStops) {
  serve([](const FakeRequest& r, int fd) {
    if (r.target != "/v1/policy/log/stream?sandbox=a") return testing::respond(fd, 404, R"({"message":"no such route"})");
    // A line split across chunks, two lines in one chunk, then a third the
    // caller will not want.
    std::string s =
        "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
        "4\r\n{\"a\"\r\n"
        "c\r\n:1}\n{\"b\":2}\n\r\n"
        "8\r\n{\"c\":3}\n\r\n"
        "0\r\n\r\n";
    (void)!::write(fd, s.data(), s.size());
  });
  ApiClient c(socket);
  std::vector<std::string> lines;
  auto r = c.stream_lines("/v1/policy/log/stream?sandbox=a", [&](std::string_view l) {
    lines.emplace_back(l);
    return lines.size() < 3;
  });
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(lines, (std::vector<std::string>{"{\"a\":1}", "{\"b\":2}", "{\"c\":3}"}));
  // The daemon ending the stream is not an error either.
  lines.clear();
  auto all = c.stream_lines("/v1/policy/log/stream?sandbox=a", [&](std::string_view l) {
    lines.emplace_back(l);
    return true;
  });
  ASSERT_TRUE(all) << all.error().message;
  EXPECT_EQ(lines.size(), 3u);
  // An error answer is reported with the daemon's message.
  auto bad = c.stream_lines("/v1/policy/log/stream?sandbox=zz", [](std::string_view) { return true; });
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, 404);
  EXPECT_NE(bad.error().message.find("no such route"), std::string::npos) << bad.error().message;
}

TEST_F(ApiClientTest, FollowingTheLogStopsOnAHeartbeatWhenTheCallerAsks) {
  serve([](const FakeRequest&, int fd) {
    // An entry, then heartbeats (empty lines) and never an end: only the
    // caller's on_idle can stop the client.
    std::string entry = R"({"id":7,"time_ms":1,"sandbox":"a","host":"x.test","verdict":"allow"})"
                        "\n";
    char len[16];
    std::snprintf(len, sizeof len, "%zx", entry.size());
    std::string s =
        "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n"
        "Transfer-Encoding: chunked\r\n\r\n" +
        std::string(len) + "\r\n" + entry + "\r\n";
    for (int i = 0; i < 3; ++i) s += "1\r\n\n\r\n";
    (void)!::write(fd, s.data(), s.size());
    // Hold the stream open until the client hangs up.
    char b;
    while (::read(fd, &b, 1) > 0) {
    }
  });
  ApiClient c(socket);
  std::vector<std::string> hosts;
  int idles = 0;
  auto r = c.follow_network_log(
      "", [&](const proto::NetworkLogEntry& e) { hosts.push_back(e.host); return true; },
      [&] { return ++idles < 2; });
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(hosts, std::vector<std::string>{"x.test"});
  EXPECT_EQ(idles, 2);
}

TEST_F(ApiClientTest, PolicyCallsSendAndDecodeTypedMessages) {
  serve([](const FakeRequest& r, int fd) {
    if (r.target == "/v1/policy/rules") {
      auto in = proto::parse_policy_rule_request(r.body);
      if (!in) return testing::respond(fd, 400, R"({"message":"bad"})");
      return testing::respond(fd, 201, proto::to_json(proto::PolicyRuleAdded{{41, 42}}));
    }
    if (r.target == "/v1/policy/check")
      return testing::respond(fd, 200, R"({"allowed":true,"rule":"allow a.com","rule_id":41})");
    if (r.target == "/v1/policy/log?limit=5&sandbox=pol&blocked=1")
      return testing::respond(fd, 200, R"([{"verdict":"deny","host":"x.org","port":443}])");
    if (r.target == "/v1/policy") return testing::respond(fd, 200, R"({"rules":[]})");
    testing::respond(fd, 404, R"({"message":"no such route"})");
  });
  ApiClient c(socket);
  auto added = c.add_policy_rules({"allow", "pol", "a.com,b.com"});
  ASSERT_TRUE(added) << added.error().message;
  EXPECT_EQ(added->ids, (std::vector<int64_t>{41, 42}));
  auto sent = proto::parse_policy_rule_request(fake->requests().back().body);
  ASSERT_TRUE(sent.ok());
  EXPECT_EQ(sent->sandbox, "pol");
  EXPECT_EQ(sent->resources, "a.com,b.com");
  auto d = c.check_policy({"", "a.com"});
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_TRUE(d->allowed);
  EXPECT_EQ(d->rule_id, 41);
  auto log = c.network_log({"pol", 5, true});
  ASSERT_TRUE(log) << log.error().message;
  ASSERT_EQ(log->size(), 1u);
  EXPECT_FALSE((*log)[0].allowed);
  EXPECT_EQ((*log)[0].host, "x.org");
  // A 2xx answer that does not decode is an error, not a half-filled value.
  auto bad = c.policy();
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("'preset'"), std::string::npos) << bad.error().message;
  auto gone = c.remove_policy_rules({1, "", ""});
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, 404);
}

}  // namespace
}  // namespace sbx::client
