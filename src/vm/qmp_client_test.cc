#include "vm/qmp_client.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "base/child_process.h"
#include "base/files.h"

namespace sbx::vm {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

constexpr const char* kGreeting =
    R"({"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}}, "capabilities": []}})"
    "\n";

// Reads one line from the fake server's end.
std::string read_line(int fd) {
  std::string line;
  char c;
  while (::read(fd, &c, 1) == 1 && c != '\n') line += c;
  return line;
}

void send(int fd, const std::string& s) { ASSERT_TRUE(write_all(fd, s).ok()); }

// Answers qmp_capabilities, then runs `script` on the server end.
template <class F>
std::thread fake_server(Fd fd, F script) {
  return std::thread([fd = std::move(fd), script]() mutable {
    send(fd.get(), kGreeting);
    json caps = json::parse(read_line(fd.get()));
    EXPECT_EQ(caps["execute"], "qmp_capabilities");
    send(fd.get(), json{{"return", json::object()}, {"id", caps["id"]}}.dump() + "\n");
    script(fd.get());
  });
}

TEST(QmpClient, ExecuteSkipsAndKeepsEvents) {
  auto sp = socket_pair();
  ASSERT_TRUE(sp.ok());
  auto t = fake_server(std::move(sp->second), [](int fd) {
    json req = json::parse(read_line(fd));
    EXPECT_EQ(req["execute"], "query-status");
    EXPECT_FALSE(req.contains("arguments"));
    send(fd, R"({"event": "STOP", "timestamp": {"seconds": 1}})" "\n");
    send(fd, R"({"event": "SHUTDOWN", "data": {"guest": true, "reason": "guest-reset"}})" "\n");
    // A reply to some other id must not be taken for ours.
    send(fd, R"({"return": {"status": "bogus"}, "id": 999})" "\n");
    send(fd, json{{"return", {{"status", "running"}, {"running", true}}},
                  {"id", req["id"]}}.dump() + "\n");
    req = json::parse(read_line(fd));
    EXPECT_EQ(req["execute"], "human-monitor-command");
    EXPECT_EQ(req["arguments"]["command-line"], "info version");
    send(fd, json{{"return", "7.2.22\r\n"}, {"id", req["id"]}}.dump() + "\n");
  });
  auto c = QmpClient::handshake(std::move(sp->first), milliseconds(2000));
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->greeting()["QMP"]["version"]["qemu"]["major"], 7);
  auto st = c->query_status();
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(*st, "running");
  auto hmp = c->execute("human-monitor-command", {{"command-line", "info version"}});
  ASSERT_TRUE(hmp.ok());
  EXPECT_EQ(*hmp, "7.2.22\r\n");
  ASSERT_EQ(c->events().size(), 2u);
  auto sd = c->last_event("SHUTDOWN");
  ASSERT_TRUE(sd.has_value());
  EXPECT_EQ((*sd)["data"]["reason"], "guest-reset");
  EXPECT_FALSE(c->last_event("RESET").has_value());
  t.join();
}

TEST(QmpClient, ErrorReplyBecomesError) {
  auto sp = socket_pair();
  ASSERT_TRUE(sp.ok());
  auto t = fake_server(std::move(sp->second), [](int fd) {
    json req = json::parse(read_line(fd));
    send(fd, json{{"error", {{"class", "CommandNotFound"},
                             {"desc", "The command nope has not been found"}}},
                  {"id", req["id"]}}.dump() + "\n");
  });
  auto c = QmpClient::handshake(std::move(sp->first), milliseconds(2000));
  ASSERT_TRUE(c.ok());
  auto r = c->execute("nope");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("has not been found"), std::string::npos);
  EXPECT_NE(r.error().message.find("CommandNotFound"), std::string::npos);
  t.join();
}

TEST(QmpClient, RejectsOverlongLine) {
  auto sp = socket_pair();
  ASSERT_TRUE(sp.ok());
  auto t = fake_server(std::move(sp->second), [](int fd) {
    read_line(fd);
    std::string big = "{\"return\": \"" + std::string(QmpClient::kMaxLine + 10, 'x');
    (void)write_all(fd, big);  // the client may hang up midway
  });
  auto c = QmpClient::handshake(std::move(sp->first), milliseconds(5000));
  ASSERT_TRUE(c.ok());
  auto r = c->execute("query-status");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("exceeds"), std::string::npos) << r.error().message;
  c = Error{"closed"};  // close our end so the writer unblocks
  t.join();
}

TEST(QmpClient, RejectsDeepNestingAndJunk) {
  EXPECT_TRUE(json_too_deep(std::string(100, '['), 64));
  EXPECT_FALSE(json_too_deep(R"({"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["})", 64));
  EXPECT_FALSE(json_too_deep(R"({"a": [[{"b": 1}]]})", 4));
  EXPECT_TRUE(json_too_deep(R"({"a": [[{"b": 1}]]})", 3));

  auto sp = socket_pair();
  ASSERT_TRUE(sp.ok());
  auto t = fake_server(std::move(sp->second), [](int fd) {
    read_line(fd);
    send(fd, std::string(10000, '[') + "\n");
    read_line(fd);
    send(fd, "not json\n");
  });
  auto c = QmpClient::handshake(std::move(sp->first), milliseconds(2000));
  ASSERT_TRUE(c.ok());
  auto r = c->execute("query-status");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("nested too deeply"), std::string::npos);
  r = c->execute("query-status");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("malformed"), std::string::npos);
  t.join();
}

TEST(QmpClient, TimesOutOnSilence) {
  auto sp = socket_pair();
  ASSERT_TRUE(sp.ok());
  Fd keep_open;
  auto t = std::thread([&] {
    send(sp->second.get(), kGreeting);
    read_line(sp->second.get());  // never answers
    keep_open = std::move(sp->second);
  });
  auto start = std::chrono::steady_clock::now();
  auto c = QmpClient::handshake(std::move(sp->first), milliseconds(300));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("no reply"), std::string::npos) << c.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  t.join();
}

TEST(QmpClient, ConnectWaitsForSocketToAppear) {
  auto dir = TempDir::create("sbx-qmp");
  ASSERT_TRUE(dir.ok());
  std::string path = dir->path() + "/qmp.sock";
  std::thread t([path] {
    std::this_thread::sleep_for(milliseconds(200));
    auto l = unix_listen(path);
    ASSERT_TRUE(l.ok());
    Fd conn(::accept4(l->get(), nullptr, nullptr, SOCK_CLOEXEC));
    ASSERT_TRUE(conn.valid());
    auto inner = fake_server(std::move(conn), [](int fd) {
      json req = json::parse(read_line(fd));
      EXPECT_EQ(req["execute"], "quit");
      send(fd, json{{"return", json::object()}, {"id", req["id"]}}.dump() + "\n");
    });
    inner.join();
  });
  auto c = QmpClient::connect(path, milliseconds(3000));
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_TRUE(c->quit().ok());
  t.join();
  auto missing = QmpClient::connect(dir->path() + "/never.sock", milliseconds(100));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("timed out"), std::string::npos);
}

// Real QEMU, paused before any guest code (-S) and without a kernel. The
// socket directory contains a comma to check the option escaping end to end.
TEST(QmpClient, RealQemuPaused) {
  if (find_program("qemu-system-x86_64").empty()) GTEST_SKIP() << "no qemu";
  auto dir = TempDir::create("sbx-qmp");
  ASSERT_TRUE(dir.ok());
  std::string sub = dir->path() + "/a,b";
  ASSERT_TRUE(make_dirs(sub).ok());
  std::string path = sub + "/qmp.sock";
  SpawnOptions o;
  o.argv = {"qemu-system-x86_64", "-M", "microvm,accel=tcg", "-nodefaults",
            "-no-user-config", "-nographic", "-S", "-qmp",
            "unix:" + std::string(dir->path()) + "/a,,b/qmp.sock,server=on,wait=off"};
  auto child = ChildProcess::spawn(o);
  ASSERT_TRUE(child.ok()) << child.error().message;
  auto c = QmpClient::connect(path, milliseconds(10000));
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->greeting()["QMP"]["version"]["qemu"]["major"], 7);
  auto st = c->query_status();
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_TRUE(*st == "prelaunch" || *st == "paused") << *st;
  auto bad = c->execute("no-such-command");
  EXPECT_FALSE(bad.ok());
  EXPECT_TRUE(c->quit().ok());
  auto ex = child->wait_for(milliseconds(5000));
  ASSERT_TRUE(ex.ok());
  ASSERT_TRUE(ex->has_value()) << "qemu did not exit after quit";
  EXPECT_TRUE((*ex)->exited);
  EXPECT_EQ((*ex)->code, 0);
}

}  // namespace
}  // namespace sbx::vm
