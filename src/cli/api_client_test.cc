#include "cli/api_client.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "base/files.h"
#include "cli/exec_session.h"
#include "base/strings.h"
#include "cli/fake_daemon.h"

namespace sbx::cli {
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
  EXPECT_TRUE(c.daemon_absent());
  EXPECT_EQ(c.last_failure().http_status, 0);
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
  EXPECT_EQ(c.last_failure().http_status, 404);
  EXPECT_FALSE(c.daemon_absent());
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
  EXPECT_EQ(c.last_failure().exit_code, 127);
  EXPECT_EQ(s.error().message, "nosuchcmd: command not found");
}

TEST_F(ApiClientTest, UpgradeKeepsBytesRightAfterThe101) {
  // The 101 headers, stdout and EXIT arrive in one write: the frames sit in
  // the HTTP reader's buffer and must reach the session.
  std::string stdin_seen;
  serve([&](const FakeRequest& r, int fd) {
    EXPECT_EQ(r.headers.at("upgrade"), "sbx-exec/1");
    EXPECT_NE(to_lower(r.headers.at("connection")).find("upgrade"), std::string::npos);
    auto req = proto::parse_exec_request(r.body);
    ASSERT_TRUE(req);
    EXPECT_EQ(req->argv, (std::vector<std::string>{"cat"}));
    testing::respond_upgrade(fd, testing::exec_frame(FrameType::kData, "first bytes|"));
    proto::FrameDecoder dec;
    while (auto f = testing::read_frame(fd, dec)) {
      if (f->type == FrameType::kData) stdin_seen += f->payload;
      if (f->type == FrameType::kEof) break;
    }
    proto::ExitInfo e;
    e.exit_code = 5;
    (void)write_all(fd, testing::exec_frame(FrameType::kData, stdin_seen) +
                            testing::exec_frame(FrameType::kExit, proto::to_json(e)));
  });
  ApiClient c(socket);
  proto::ExecRequest req;
  req.argv = {"cat"};
  auto s = c.exec("box", req);
  ASSERT_TRUE(s) << s.error().message;
  ASSERT_TRUE(s->fd.valid());
  EXPECT_FALSE(s->pending.empty());

  auto in = make_pipe();
  auto out = make_pipe();
  auto errp = make_pipe();
  ASSERT_TRUE(write_all(in->second.get(), "typed"));
  in->second.reset();
  ExecSessionOptions o;
  o.forward_stdin = true;
  ExecSession session(std::move(*s), ExecIo{in->first.get(), out->second.get(), errp->second.get()}, o);
  auto code = session.run();
  ASSERT_TRUE(code) << code.error().message;
  EXPECT_EQ(*code, 5);
  out->second.reset();
  std::string got;
  while (auto chunk = read_some(out->first.get(), 4096)) {
    if (chunk->empty()) break;
    got += *chunk;
  }
  EXPECT_EQ(got, "first bytes|typed");
  EXPECT_EQ(stdin_seen, "typed");
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
  EXPECT_EQ(c.last_failure().http_status, 404);
  EXPECT_NE(bad.error().message.find("no such route"), std::string::npos) << bad.error().message;
}

}  // namespace
}  // namespace sbx::cli
