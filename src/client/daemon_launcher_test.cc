#include "client/daemon_launcher.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/file.h>

#include <thread>

#include "base/fd.h"
#include "base/files.h"
#include "client/fake_daemon.h"

namespace sbx::client {
namespace {

using namespace std::chrono_literals;

struct LauncherTest : ::testing::Test {
  void SetUp() override {
    auto d = TempDir::create("cli-launch");
    ASSERT_TRUE(d);
    dir.emplace(std::move(*d));
    paths.runtime = dir->path() + "/run";
    paths.state = dir->path() + "/state";
    paths.cache = dir->path() + "/cache";
    paths.config = dir->path() + "/config";
  }
  // Brings up a fake daemon on the socket after `delay`, as a slow real one would.
  std::thread serve_after(std::chrono::milliseconds delay) {
    return std::thread([this, delay] {
      std::this_thread::sleep_for(delay);
      auto f = testing::FakeDaemon::start(paths.socket(), [](const testing::FakeRequest&, int fd) {
        testing::respond(fd, 200, R"({"version":"0.1.0","api":1})");
      });
      ASSERT_TRUE(f) << f.error().message;
      fake = std::move(*f);
    });
  }
  std::optional<TempDir> dir;
  Paths paths;
  std::unique_ptr<testing::FakeDaemon> fake;
};

TEST_F(LauncherTest, RunningDaemonIsLeftAlone) {
  ASSERT_TRUE(paths.ensure());
  serve_after(0ms).join();
  ApiClient c(paths.socket());
  LaunchOptions o;
  o.daemon_path = "/nonexistent/sandboxd";
  auto r = ensure_daemon(c, paths, o);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(*r);
}

TEST_F(LauncherTest, StartsTheDaemonAndWaitsUntilItAnswers) {
  ApiClient c(paths.socket());
  LaunchOptions o;
  // Stands in for a daemon still initialising; also records its cwd and env.
  o.daemon_path = dir->path() + "/fake-sandboxd";
  ASSERT_TRUE(write_file_atomic(o.daemon_path,
                                "#!/bin/sh\npwd > \"$SBX_STATE_DIR/seen\"\n"
                                "echo \"$SBX_RUNTIME_DIR\" >> \"$SBX_STATE_DIR/seen\"\nexec sleep 2\n",
                                0755));
  auto t = serve_after(400ms);
  auto r = ensure_daemon(c, paths, o);
  t.join();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(*r);
  EXPECT_TRUE(is_directory(paths.runtime));
  auto seen = read_file(paths.state + "/seen");
  ASSERT_TRUE(seen);
  EXPECT_EQ(*seen, "/\n" + paths.runtime + "\n");
}

TEST_F(LauncherTest, LosingTheStartRaceStillFindsTheWinner) {
  ApiClient c(paths.socket());
  LaunchOptions o;
  o.daemon_path = "/bin/false";  // exits at once, like a daemon that lost the lock
  auto t = serve_after(500ms);
  auto r = ensure_daemon(c, paths, o);
  t.join();
  ASSERT_TRUE(r) << r.error().message;
}

TEST_F(LauncherTest, DaemonThatDiesPointsAtItsLog) {
  ApiClient c(paths.socket());
  LaunchOptions o;
  o.daemon_path = "/bin/false";
  o.exit_grace = 300ms;
  auto r = ensure_daemon(c, paths, o);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("sandboxd exited (exit code 1)"), std::string::npos);
  EXPECT_NE(r.error().message.find(paths.daemon_log()), std::string::npos);
}

TEST_F(LauncherTest, MissingBinaryIsExplained) {
  ApiClient c(paths.socket());
  LaunchOptions o;
  o.daemon_path = dir->path() + "/sandboxd";
  auto r = ensure_daemon(c, paths, o);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("does not exist"), std::string::npos);
  EXPECT_NE(r.error().message.find("SBX_DAEMON"), std::string::npos);
}

TEST_F(LauncherTest, WaitsForTheDaemonsLockToBeReleased) {
  ASSERT_TRUE(paths.ensure());
  EXPECT_TRUE(wait_daemon_exited(paths, 0ms)) << "no lock file means no daemon";
  // Another open file description stands in for the daemon's lock.
  Fd held(::open(paths.lock_file().c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  ASSERT_TRUE(held);
  ASSERT_EQ(::flock(held.get(), LOCK_EX | LOCK_NB), 0);
  EXPECT_FALSE(wait_daemon_exited(paths, 200ms));
  std::thread release([&] {
    std::this_thread::sleep_for(100ms);
    held.reset();
  });
  EXPECT_TRUE(wait_daemon_exited(paths, 10s));
  release.join();
}

}  // namespace
}  // namespace sbx::client
