#include <gtest/gtest.h>

#include "base/files.h"
#include "client/fake_daemon.h"
#include "tui/dashboard.h"

namespace sbx::tui {
namespace {

using client::testing::FakeDaemon;
using client::testing::FakeRequest;

struct DashboardCommandTest : ::testing::Test {
  void SetUp() override {
    auto d = TempDir::create("tui-cmd");
    ASSERT_TRUE(d);
    dir.emplace(std::move(*d));
    socket = dir->path() + "/sandboxd.sock";
    auto f = FakeDaemon::start(socket, [](const FakeRequest& r, int fd) {
      if (r.target == "/v1/sandboxes/a/stop" || r.target == "/v1/sandboxes/a/start")
        return client::testing::respond(fd, 200, R"({"name":"a","status":"running"})");
      if (r.target == "/v1/sandboxes/a?force=1" && r.method == "DELETE")
        return client::testing::respond(fd, 204, "");
      if (r.target == "/v1/sandboxes/a/ports")
        return client::testing::respond(
            fd, 201, R"({"host_ip":"127.0.0.1","host_port":8080,"sandbox_port":80,"proto":"tcp"})");
      if (r.target == "/v1/policy/rules")
        return client::testing::respond(fd, 201, R"({"ids":[3]})");
      client::testing::respond(fd, 404, R"({"message":"sandbox 'zz' not found"})");
    });
    ASSERT_TRUE(f) << f.error().message;
    fake = std::move(*f);
  }
  std::optional<TempDir> dir;
  std::string socket;
  std::unique_ptr<FakeDaemon> fake;
};

TEST_F(DashboardCommandTest, EachCommandCallsItsRouteAndSaysWhatHappened) {
  client::ApiClient api(socket);
  DashboardHooks hooks;
  auto stop = run_command(api, {Command::kStop, "a"}, hooks);
  ASSERT_TRUE(stop) << stop.error().message;
  EXPECT_EQ(*stop, "Stopped a");
  EXPECT_TRUE(run_command(api, {Command::kRestart, "a"}, hooks));
  EXPECT_TRUE(run_command(api, {Command::kDelete, "a"}, hooks));
  Command pub{Command::kPublish, "a"};
  pub.spec = "8080:80";
  auto p = run_command(api, pub, hooks);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_NE(p->find("8080"), std::string::npos) << *p;
  auto block = run_command(api, {Command::kBlock, "", "evil.test"}, hooks);
  ASSERT_TRUE(block) << block.error().message;
  EXPECT_EQ(*block, "Blocked evil.test globally");

  auto reqs = fake->requests();
  std::vector<std::string> targets;
  for (auto& r : reqs) targets.push_back(r.method + " " + r.target);
  EXPECT_EQ(targets, (std::vector<std::string>{
                         "POST /v1/sandboxes/a/stop", "POST /v1/sandboxes/a/stop",
                         "POST /v1/sandboxes/a/start", "DELETE /v1/sandboxes/a?force=1",
                         "POST /v1/sandboxes/a/ports", "POST /v1/policy/rules"}));
  EXPECT_NE(reqs.back().body.find("\"deny\""), std::string::npos) << reqs.back().body;
  EXPECT_NE(reqs.back().body.find("evil.test"), std::string::npos) << reqs.back().body;
}

TEST_F(DashboardCommandTest, FailuresCarryTheDaemonsMessage) {
  client::ApiClient api(socket);
  auto r = run_command(api, {Command::kStop, "zz"}, {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("not found"), std::string::npos) << r.error().message;
  Command bad{Command::kPublish, "a"};
  bad.spec = "not-a-port";
  EXPECT_FALSE(run_command(api, bad, {}));
  // Without a create hook (or with one that refuses), nothing is sent.
  size_t before = fake->requests().size();
  DashboardHooks hooks;
  hooks.make_create = [](const Command&) -> Result<proto::CreateRequest> {
    return err("workspace '/nope' does not exist");
  };
  auto c = run_command(api, {Command::kCreate}, hooks);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("/nope"), std::string::npos);
  EXPECT_EQ(fake->requests().size(), before);
}

}  // namespace
}  // namespace sbx::tui
