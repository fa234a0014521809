// The dockerd supervisor driven through the real agent in test mode, with a
// fake dockerd (python) that answers /_ping like the real one.
#include "agent/docker_supervisor.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "agent/agent_harness.h"
#include "base/files.h"

namespace sbx::agent::testing {
namespace {

using namespace std::chrono_literals;
using proto::FrameType;
using nlohmann::json;

// Records each start, then serves HTTP 200 "OK" on --host=unix://P or on
// the systemd-activated fd 3 (--host=fd://, checking LISTEN_PID/LISTEN_FDS).
// A file "crash" beside it makes it exit 1 at once.
constexpr const char* kFakeDockerd = R"(#!/usr/bin/python3
import os, socket, sys, time
d = os.path.dirname(os.path.abspath(sys.argv[0]))
host = [a for a in sys.argv if a.startswith('--host=')][0][7:]
with open(os.path.join(d, 'calls'), 'a') as f:
    f.write('%s LISTEN_PID=%s LISTEN_FDS=%s pid=%d http_proxy=%s\n' % (host,
            os.environ.get('LISTEN_PID'), os.environ.get('LISTEN_FDS'), os.getpid(),
            os.environ.get('HTTP_PROXY')))
if os.path.exists(os.path.join(d, 'crash')):
    sys.exit(1)
time.sleep(0.3)
if host == 'fd://':
    assert os.environ.get('LISTEN_PID') == str(os.getpid()) and os.environ.get('LISTEN_FDS') == '1'
    s = socket.socket(fileno=3)
else:
    p = host[len('unix://'):]
    try: os.unlink(p)
    except OSError: pass
    s = socket.socket(socket.AF_UNIX); s.bind(p); s.listen(16)
while True:
    c, _ = s.accept()
    c.recv(4096)
    c.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK')
    c.close()
)";

class DockerSupervisorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sbx-fakedockerd-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir = tmpl;
    ASSERT_TRUE(write_file_atomic(dir + "/dockerd", kFakeDockerd, 0755));
  }
  void TearDown() override { (void)remove_tree(dir); }

  std::vector<std::string> args(bool socket_mode) {
    std::vector<std::string> a = {"--dockerd", dir + "/dockerd", "--docker-sock",
                                  dir + "/docker.sock"};
    if (socket_mode) a.push_back("--docker-socket-activation");
    return a;
  }
  static json status(AgentHarness& h, uint64_t id) {
    h.send(0, FrameType::kControl, proto::to_json(proto::ControlRequest{id, "docker"}));
    auto f = h.recv_on(0);
    if (!f) return json();
    auto r = proto::parse_control_response(f->payload);
    if (!r || !r->ok) return json();
    return json::parse(r->body);
  }
  /// Asks for the status until `done` accepts it or `max` has passed;
  /// returns the last status seen.
  template <class Pred>
  static json wait_status(AgentHarness& h, Pred done, std::chrono::milliseconds max) {
    auto deadline = std::chrono::steady_clock::now() + max;
    json j;
    for (uint64_t id = 1;; ++id) {
      j = status(h, id);
      if (j.is_object() && done(j)) return j;
      if (std::chrono::steady_clock::now() >= deadline) return j;
      std::this_thread::sleep_for(50ms);  // the re-check interval
    }
  }
  static json wait_state(AgentHarness& h, const std::string& want, std::chrono::seconds max) {
    return wait_status(h, [&](const json& j) { return j["state"] == want; }, max);
  }
  /// Waits up to `max` for `path` to exist.
  static bool wait_for_file(const std::string& path, std::chrono::milliseconds max) {
    auto deadline = std::chrono::steady_clock::now() + max;
    while (access(path.c_str(), F_OK) != 0) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(10ms);  // the re-check interval
    }
    return true;
  }
  std::string dir;
};

TEST(DockerStatus, AbsentWithoutSupervisor) {
  AgentHarness h;
  ASSERT_TRUE(h.handshake(AgentHarness::nonce('d')));
  h.send(0, FrameType::kControl, proto::to_json(proto::ControlRequest{3, "docker"}));
  auto f = h.recv_on(0);
  ASSERT_TRUE(f);
  auto r = proto::parse_control_response(f->payload);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok);
  EXPECT_EQ(json::parse(r->body)["state"], "absent");
}

TEST_F(DockerSupervisorTest, BootModeGoesStartingThenRunning) {
  AgentHarness h(args(false));
  ASSERT_TRUE(h.handshake(AgentHarness::nonce('d')));
  auto first = status(h, 1);
  EXPECT_EQ(first["state"], "starting") << first.dump();
  auto j = wait_state(h, "running", 10s);
  EXPECT_EQ(j["state"], "running") << j.dump();
  EXPECT_EQ(j["mode"], "boot");
  EXPECT_GE(j["uptime_ms"].get<long>(), j["since_ms"].get<long>());
  auto calls = read_file(dir + "/calls");
  ASSERT_TRUE(calls);
  EXPECT_EQ(calls->rfind("unix://" + dir + "/docker.sock LISTEN_PID=None", 0), 0u) << *calls;
}

TEST_F(DockerSupervisorTest, SocketModeStartsOnFirstConnectionWithFd3) {
  AgentHarness h(args(true));
  ASSERT_TRUE(h.handshake(AgentHarness::nonce('d')));
  // Nobody has connected: dockerd must not start, whatever time passes.
  EXPECT_FALSE(wait_for_file(dir + "/calls", 300ms)) << "started before anyone connected";
  EXPECT_EQ(status(h, 1)["state"], "idle");
  struct stat st;
  ASSERT_EQ(stat((dir + "/docker.sock").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  // A client connects and is answered by the daemon it woke up.
  auto c = unix_connect(dir + "/docker.sock");
  ASSERT_TRUE(c);
  ASSERT_TRUE(write_all(c->get(), "GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string reply;
  for (int i = 0; i < 100 && reply.find("OK") == std::string::npos; ++i) {
    pollfd p{c->get(), POLLIN, 0};
    if (poll(&p, 1, 10000) != 1) break;  // no answer within 10 s: fail below
    auto r = read_some(c->get(), 4096);
    if (!r || r->empty()) break;
    reply += *r;
  }
  EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
  auto j = wait_state(h, "running", 10s);
  EXPECT_EQ(j["state"], "running") << j.dump();
  auto calls = read_file(dir + "/calls");
  ASSERT_TRUE(calls);
  EXPECT_NE(calls->find("fd:// LISTEN_PID="), std::string::npos) << *calls;
  EXPECT_NE(calls->find("LISTEN_FDS=1"), std::string::npos) << *calls;
}

TEST_F(DockerSupervisorTest, CrashingDaemonIsRestartedThenFails) {
  ASSERT_TRUE(write_file_atomic(dir + "/crash", ""));
  AgentHarness h(args(false));
  ASSERT_TRUE(h.handshake(AgentHarness::nonce('d')));
  auto j = wait_state(h, "failed", 15s);
  EXPECT_EQ(j["state"], "failed") << j.dump();
  EXPECT_EQ(j["restarts"], 3);
  EXPECT_NE(j["error"].get<std::string>().find("exit code 1"), std::string::npos);
  auto calls = read_file(dir + "/calls");
  ASSERT_TRUE(calls);
  EXPECT_EQ(std::count(calls->begin(), calls->end(), '\n'), 4) << *calls;
}

TEST_F(DockerSupervisorTest, KilledDaemonIsRestarted) {
  AgentHarness h(args(false));
  ASSERT_TRUE(h.handshake(AgentHarness::nonce('d')));
  ASSERT_EQ(wait_state(h, "running", 10s)["state"], "running");
  auto calls = read_file(dir + "/calls");
  ASSERT_TRUE(calls);
  auto pos = calls->find("pid=");
  ASSERT_NE(pos, std::string::npos);
  int pid = std::stoi(calls->substr(pos + 4));
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  // Until the agent has seen the death the old status still says running.
  auto j = wait_status(
      h, [](const json& s) { return s["state"] == "running" && s["restarts"] == 1; }, 10s);
  EXPECT_EQ(j["state"], "running");
  EXPECT_EQ(j["restarts"], 1);
}

}  // namespace
}  // namespace sbx::agent::testing
