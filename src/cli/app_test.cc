#include "cli/app.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "base/files.h"
#include "base/strings.h"
#include "client/fake_daemon.h"
#include "proto/messages.h"
#include "proto/template_api.h"

namespace sbx::cli {
namespace {

using client::testing::FakeDaemon;
using client::testing::FakeRequest;
using proto::FrameType;

const char* kList =
    R"({"sandboxes":[{"name":"shell-a","agent":"shell","status":"running","workspace":"/w/a",)"
    R"("ports":[{"host_ip":"127.0.0.1","host_port":49152,"sandbox_port":5000,"proto":"tcp"}]},)"
    R"({"name":"b","agent":"shell","status":"stopped","workspace":"/w/b"}]})";

// A scripted daemon: knows sandboxes shell-a (running) and b (stopped).
void scripted(const FakeRequest& r, int fd) {
  auto& t = r.target;
  if (t == "/v1/version")
    return client::testing::respond(fd, 200, R"({"version":"0.1.0","api":1})");
  if (t == "/v1/sandboxes" && r.method == "GET") return client::testing::respond(fd, 200, kList);
  if (t == "/v1/sandboxes?progress=1" && r.method == "POST") {
    // The create progress stream: one stage line, then the sandbox.
    auto req = proto::parse_create_request(r.body);
    proto::SandboxInfo s;
    s.name =
        req->name.empty() ? proto::default_sandbox_name(req->agent, req->workspace) : req->name;
    s.agent = req->agent;
    s.status = "running";
    s.workspace = req->workspace;
    proto::ProgressEvent stage, last;
    stage.progress = "Building template 'x'...";
    last.sandbox = s;
    std::string body = proto::to_json(stage) + "\n" + proto::to_json(last) + "\n";
    char size[32];
    snprintf(size, sizeof size, "%zx\r\n", body.size());
    (void)write_all(fd,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n"
                    "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
                        std::string(size) + body + "\r\n0\r\n\r\n");
    return;
  }
  if (t == "/v1/templates/save?progress=1" && r.method == "POST") {
    auto req = proto::parse_save_template_request(r.body);
    proto::ProgressEvent last;
    last.tmpl = proto::TemplateInfo{};
    last.tmpl->tag = req->tag;
    last.tmpl->parent = "shell";
    std::string body = proto::to_json(last) + "\n";
    char size[32];
    snprintf(size, sizeof size, "%zx\r\n", body.size());
    (void)write_all(fd,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n"
                    "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
                        std::string(size) + body + "\r\n0\r\n\r\n");
    return;
  }
  if (t == "/v1/sandboxes" && r.method == "POST") {
    auto req = proto::parse_create_request(r.body);
    proto::SandboxInfo s;
    s.name =
        req->name.empty() ? proto::default_sandbox_name(req->agent, req->workspace) : req->name;
    s.agent = req->agent;
    s.status = "running";
    s.workspace = req->workspace;
    return client::testing::respond(fd, 201, proto::to_json(s));
  }
  if (t == "/v1/sandboxes/shell-a" && r.method == "GET")
    return client::testing::respond(
        fd, 200, R"({"name":"shell-a","agent":"shell","status":"running","workspace":"/w/a"})");
  if (t == "/v1/sandboxes/b" && r.method == "GET")
    return client::testing::respond(
        fd, 200,
        R"({"name":"b","agent":"shell","status":"failed","workspace":"/w/b",)"
        R"("error":"boot timed out\nconsole: tail"})");
  if (t == "/v1/sandboxes/shell-a/ports" && r.method == "GET")
    return client::testing::respond(
        fd, 200,
        R"({"ports":[{"host_ip":"127.0.0.1","host_port":49152,"sandbox_port":5000,"proto":"tcp"}]})");
  if (t == "/v1/sandboxes/shell-a/ports" && r.method == "POST") {
    auto p = proto::parse_port_mapping(r.body);
    if (p->host_port == 0) p->host_port = 49153;
    return client::testing::respond(fd, 201, proto::to_json(*p));
  }
  if (t == "/v1/sandboxes/shell-a/ports/unpublish") {
    auto p = proto::parse_port_mapping(r.body);
    if (p->host_port != 49152)
      return client::testing::respond(fd, 404, R"({"message":"no such mapping"})");
    return client::testing::respond(
        fd, 200,
        R"({"ports":[{"host_ip":"127.0.0.1","host_port":49152,"sandbox_port":5000,"proto":"tcp"}]})");
  }
  if (starts_with(t, "/v1/policy/log?")) {
    if (t.find("sandbox=ghost") != std::string::npos)
      return client::testing::respond(
          fd, 404,
          R"({"message":"sandbox 'ghost' not found. Run 'sbx ls' to see your sandboxes."})");
    return client::testing::respond(
        fd, 200,
        R"([{"id":2,"time_ms":1764615431000,"sandbox":"shell-a","host":"evil.example","port":443,)"
        R"("kind":"forward","method":"CONNECT","path":"","rule":"default policy balanced",)"
        R"("verdict":"deny","bytes_up":0,"bytes_down":0,"finished":true,"error":""}])");
  }
  if (t == "/v1/reset") return client::testing::respond(fd, 200, R"({"removed":["shell-a","b"]})");
  if (t == "/v1/secrets/reset" || t == "/v1/secrets/remove")
    return client::testing::respond(fd, 200, "{}");
  if (t == "/v1/secrets" && r.method == "POST") return client::testing::respond(fd, 201, "{}");
  if (t == "/v1/secrets/bypass" && r.method == "POST")
    return client::testing::respond(fd, 201, "{}");
  if (t == "/v1/secrets/bypass/remove") return client::testing::respond(fd, 200, "{}");
  if (t == "/v1/secrets/bypass")
    return client::testing::respond(fd, 200, R"([{"scope":"box","host":"pinned.example"}])");
  if (t == "/v1/secrets")
    return client::testing::respond(
        fd, 200,
        R"([{"scope":"","service":"anthropic","source":"stored","hosts":["api.anthropic.com"]}])");
  if (t == "/v1/prune" || t == "/v1/prune?dry_run=1")
    return client::testing::respond(
        fd, 200,
        std::string(R"({"sandboxes":["b"],"artifacts":[],"bytes":1048576,"dry_run":)") +
            (t == "/v1/prune" ? "false}" : "true}"));
  if (t == "/v1/sandboxes/shell-a?force=1" && r.method == "DELETE")
    return client::testing::respond(fd, 204, "");
  if (t == "/v1/sandboxes/shell-a" && r.method == "DELETE")
    return client::testing::respond(fd, 409, R"({"message":"sandbox 'shell-a' is running"})");
  if (t == "/v1/sandboxes/shell-a/exec") {
    auto req = proto::parse_exec_request(r.body);
    if (req->argv[0] == "nope")
      return client::testing::respond(fd, 404,
                                      R"({"message":"nope: command not found","exit_code":127})");
    std::string joined;
    for (auto& a : req->argv) joined += "[" + a + "]";
    proto::ExitInfo e;
    e.exit_code = 7;
    client::testing::respond_upgrade(
        fd, client::testing::exec_frame(FrameType::kData, joined) +
                client::testing::exec_frame(FrameType::kExit, proto::to_json(e)));
    return;
  }
  client::testing::respond(fd, 404, R"({"message":"no such sandbox"})");
}

struct AppTest : ::testing::Test {
  void SetUp() override {
    auto d = TempDir::create("cli-app");
    ASSERT_TRUE(d);
    dir.emplace(std::move(*d));
    ::setenv("SBX_RUNTIME_DIR", dir->path().c_str(), 1);
    ::setenv("SBX_STATE_DIR", (dir->path() + "/state").c_str(), 1);
    ::setenv("SBX_DAEMON", (dir->path() + "/no-such-sandboxd").c_str(), 1);
    ::unsetenv("NO_COLOR");
    auto f = FakeDaemon::start(dir->path() + "/sandboxd.sock", scripted);
    ASSERT_TRUE(f) << f.error().message;
    fake = std::move(*f);
    auto o = make_pipe();
    ASSERT_TRUE(o);
    outp.emplace(std::move(*o));
  }
  void TearDown() override {
    fake.reset();
    ::unsetenv("SBX_RUNTIME_DIR");
    ::unsetenv("SBX_STATE_DIR");
    ::unsetenv("SBX_DAEMON");
  }
  int run(std::vector<std::string> args) {
    args.insert(args.begin(), "sbx");
    std::vector<const char*> argv;
    for (auto& a : args) argv.push_back(a.c_str());
    out.str("");
    err.str("");
    Console con{out, err, ExecIo{outp->first.get(), outp->second.get(), outp->second.get()}};
    return run_cli(static_cast<int>(argv.size()), argv.data(), con);
  }
  // What an exec wrote to its stdout pipe so far.
  std::string exec_output() {
    (void)set_nonblocking(outp->first.get(), true);
    auto r = read_some(outp->first.get(), 65536);
    return r ? *r : "";
  }
  size_t mutating_requests() {
    size_t n = 0;
    for (auto& r : fake->requests())
      if (r.target != "/v1/version") ++n;
    return n;
  }
  std::optional<TempDir> dir;
  std::unique_ptr<FakeDaemon> fake;
  std::optional<std::pair<Fd, Fd>> outp;
  std::ostringstream out, err;
};

TEST_F(AppTest, LsPrintsTableNamesAndJson) {
  ASSERT_EQ(run({"ls"}), 0) << err.str();
  EXPECT_EQ(out.str(),
            "SANDBOX   AGENT   STATUS    PORTS                       WORKSPACE\n"
            "shell-a   shell   running   127.0.0.1:49152->5000/tcp   /w/a\n"
            "b         shell   stopped                               /w/b\n");
  ASSERT_EQ(run({"ls", "-q"}), 0);
  EXPECT_EQ(out.str(), "shell-a\nb\n");
  ASSERT_EQ(run({"ls", "--json"}), 0);
  auto j = nlohmann::json::parse(out.str(), nullptr, false);
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["name"], "shell-a");
}

TEST_F(AppTest, CreateValidatesBeforeContactingTheDaemon) {
  EXPECT_EQ(run({"create", "-m", "abc", "shell", dir->path()}), kExitFailure);
  EXPECT_EQ(err.str(), "Error: invalid memory size 'abc': use e.g. 512m or 8g\n");
  EXPECT_EQ(run({"create", "shell", dir->path() + "/missing"}), kExitFailure);
  EXPECT_NE(err.str().find("Error: workspace path '"), std::string::npos);
  EXPECT_NE(err.str().find("/missing' does not exist"), std::string::npos);
  EXPECT_EQ(run({"create", "Bad/Agent", dir->path()}), kExitFailure);
  EXPECT_NE(err.str().find("Error: invalid agent name 'Bad/Agent'"), std::string::npos);
  EXPECT_EQ(mutating_requests(), 0u);
}

TEST_F(AppTest, CreatePrintsTheTranscriptShape) {
  ASSERT_TRUE(make_dirs(dir->path() + "/sbx-test"));
  auto ws = *absolute_path(dir->path() + "/sbx-test");
  ASSERT_EQ(run({"create", "shell", dir->path() + "/sbx-test"}), 0) << err.str();
  EXPECT_EQ(out.str(),
            "✓ Created sandbox 'shell-sbx-test'\n"
            "  Workspace: " +
                ws +
                " (direct mount)\n"
                "  Agent: shell\n\n"
                "To connect to this sandbox, run:\n"
                "  sbx run shell-sbx-test\n");
  ASSERT_EQ(run({"create", "-q", "--name", "mine", "-m", "1g", "shell", ws}), 0);
  EXPECT_EQ(out.str(), "mine\n");
  auto last = fake->requests().back();
  auto req = proto::parse_create_request(last.body);
  ASSERT_TRUE(req);
  EXPECT_EQ(req->memory_bytes, 1ull << 30);
  EXPECT_EQ(req->workspace, ws);
}

TEST_F(AppTest, CreateWithAKitSendsItsBytesAndHostConfigChoice) {
  std::string kit = dir->path() + "/my-kit";
  ASSERT_TRUE(make_dirs(kit + "/files"));
  std::string yaml =
      "name: mine\nkind: agent\nentry: [tool]\n"
      "files: [{path: ~/.tool.json, source: files/tool.json}]\n";
  ASSERT_TRUE(write_file_atomic(kit + "/kit.yaml", yaml));
  ASSERT_TRUE(write_file_atomic(kit + "/files/tool.json", "{\"a\": 1}\n"));
  ASSERT_TRUE(write_file_atomic(kit + "/files/unused", "not sent\n"));
  ASSERT_TRUE(make_dirs(dir->path() + "/proj"));
  auto ws = *absolute_path(dir->path() + "/proj");
  ASSERT_EQ(run({"create", "--kit", kit, ws}), 0) << err.str();
  auto req = proto::parse_create_request(fake->requests().back().body);
  ASSERT_TRUE(req);
  EXPECT_EQ(req->agent, "mine");
  ASSERT_TRUE(req->kit);
  EXPECT_EQ(req->kit->yaml, yaml);
  EXPECT_EQ(req->kit->files,
            (std::map<std::string, std::string>{{"files/tool.json", "{\"a\": 1}\n"}}));
  EXPECT_EQ(req->workspace, ws);
  EXPECT_TRUE(req->host_config);
  EXPECT_NE(out.str().find("mine-proj"), std::string::npos) << out.str();
  // AGENT may be given too, as the kit's own name; --no-host-config goes along.
  ASSERT_EQ(run({"create", "-q", "--kit", kit, "--no-host-config", "mine", ws}), 0) << err.str();
  req = proto::parse_create_request(fake->requests().back().body);
  EXPECT_EQ(req->agent, "mine");
  EXPECT_FALSE(req->host_config);
  ASSERT_EQ(run({"create", "-q", "--no-host-config", "shell", ws}), 0) << err.str();
  req = proto::parse_create_request(fake->requests().back().body);
  EXPECT_FALSE(req->kit);
  EXPECT_FALSE(req->host_config);
  EXPECT_EQ(run({"create", "--kit", kit, "other", ws}), kExitFailure);
  EXPECT_NE(err.str().find("with --kit the agent is the kit's, 'mine', not 'other'"),
            std::string::npos)
      << err.str();
}

TEST_F(AppTest, ABrokenKitFailsWithFileAndLineBeforeAnyRequest) {
  std::string kit = dir->path() + "/bad-kit";
  ASSERT_TRUE(make_dirs(kit));
  ASSERT_TRUE(write_file_atomic(kit + "/kit.yaml", "name: mine\nkind: agent\nentry: tool\n"));
  EXPECT_EQ(run({"create", "--kit", kit, dir->path()}), kExitFailure);
  EXPECT_NE(err.str().find("Error: the kit in '" + kit + "' is not valid:\n" + *absolute_path(kit) +
                           "/kit.yaml:3:8: entry must be a list"),
            std::string::npos)
      << err.str();
  EXPECT_EQ(run({"run", "--kit", kit, dir->path()}), kExitFailure);
  EXPECT_NE(err.str().find("/kit.yaml:3:8: entry must be a list"), std::string::npos) << err.str();
  EXPECT_EQ(run({"create", "--kit", dir->path() + "/none", dir->path()}), kExitFailure);
  EXPECT_NE(err.str().find("does not exist"), std::string::npos);
  EXPECT_EQ(run({"create", dir->path()}), kExitFailure);
  EXPECT_EQ(run({"create"}), kExitFailure);
  EXPECT_NE(err.str().find("missing AGENT"), std::string::npos) << err.str();
  EXPECT_EQ(run({"run"}), kExitFailure);
  EXPECT_NE(err.str().find("missing SANDBOX_OR_AGENT"), std::string::npos) << err.str();
  EXPECT_EQ(mutating_requests(), 0u);
}

TEST_F(AppTest, UnknownSandboxSaysWhatToDo) {
  EXPECT_EQ(run({"stop", "ghost"}), kExitFailure);
  EXPECT_EQ(err.str(), "Error: sandbox 'ghost' not found. Run 'sbx ls' to see your sandboxes.\n");
}

TEST_F(AppTest, RemovingARunningSandboxSuggestsStopOrForce) {
  EXPECT_EQ(run({"rm", "shell-a"}), kExitFailure);
  EXPECT_NE(err.str().find("sandbox 'shell-a' is running"), std::string::npos);
  EXPECT_NE(err.str().find("sbx stop shell-a"), std::string::npos);
  EXPECT_NE(err.str().find("sbx rm -f shell-a"), std::string::npos);
  // Said once, even when the daemon's message already carries the hint.
  EXPECT_EQ(err.str().find("sbx stop"), err.str().rfind("sbx stop"));
}

TEST_F(AppTest, ExecPassesTheCommandAndItsExitCode) {
  EXPECT_EQ(run({"exec", "shell-a", "ls", "-la", "/"}), 7) << err.str();
  EXPECT_EQ(exec_output(), "[ls][-la][/]");
  EXPECT_EQ(run({"exec", "-e", "A=1", "-w", "/tmp", "shell-a", "--", "sh", "-c", "x"}), 7)
      << err.str();
  EXPECT_EQ(exec_output(), "[sh][-c][x]");
  auto req = proto::parse_exec_request(fake->requests().back().body);
  ASSERT_TRUE(req);
  EXPECT_EQ(req->cwd, "/tmp");
  EXPECT_EQ(req->env, (std::vector<std::string>{"A=1"}));
  EXPECT_TRUE(req->user.empty());
  EXPECT_FALSE(req->tty);
}

TEST_F(AppTest, ExecEnvFlagTakesOneValueAndLeavesTheCommandWhole) {
  // Without '--': -e must not swallow SANDBOX, the command or its words.
  EXPECT_EQ(run({"exec", "-e", "K=V", "-e", "L=W", "shell-a", "printenv", "K", "L"}), 7)
      << err.str();
  EXPECT_EQ(exec_output(), "[printenv][K][L]");
  auto req = proto::parse_exec_request(fake->requests().back().body);
  ASSERT_TRUE(req);
  EXPECT_EQ(req->env, (std::vector<std::string>{"K=V", "L=W"}));
}

TEST_F(AppTest, TemplateSaveOutputGoesToTheDaemonAsAnAbsolutePath) {
  ASSERT_EQ(run({"template", "save", "b", "mine:1", "-o", "mine.tar"}), 0) << err.str();
  auto req = proto::parse_save_template_request(fake->requests().back().body);
  ASSERT_TRUE(req);
  EXPECT_EQ(req->tag, "mine:1");
  ASSERT_FALSE(req->output.empty());
  EXPECT_EQ(req->output[0], '/');
  EXPECT_EQ(req->output.substr(req->output.size() - 9), "/mine.tar");
  EXPECT_NE(out.str().find("sbx template load " + req->output), std::string::npos) << out.str();
  // A file in a directory that does not exist: refused before any request.
  size_t before = mutating_requests();
  EXPECT_EQ(run({"template", "save", "b", "mine:2", "--output", "/nonexistent-dir/x.tar"}),
            kExitFailure);
  EXPECT_NE(err.str().find("no directory /nonexistent-dir"), std::string::npos) << err.str();
  EXPECT_EQ(mutating_requests(), before);
}

TEST_F(AppTest, ExecThatCannotRunReturns127) {
  EXPECT_EQ(run({"exec", "shell-a", "nope"}), 127);
  EXPECT_EQ(err.str(), "Error: nope: command not found\n");
}

TEST_F(AppTest, ExecRejectsRelativeWorkdirAndMissingCommand) {
  EXPECT_EQ(run({"exec", "-w", "rel", "shell-a", "ls"}), kExitFailure);
  EXPECT_NE(err.str().find("'rel' must be an absolute path"), std::string::npos);
  EXPECT_EQ(run({"exec", "shell-a"}), kExitFailure);
  EXPECT_NE(err.str().find("missing command"), std::string::npos);
  EXPECT_EQ(mutating_requests(), 0u);
}

TEST_F(AppTest, InteractiveTtyNeedsATerminal) {
  // The test's stdin is a pipe: -it must refuse, as docker exec does.
  EXPECT_EQ(run({"exec", "-it", "shell-a", "bash"}), kExitFailure);
  EXPECT_NE(err.str().find("not a TTY"), std::string::npos);
  EXPECT_EQ(mutating_requests(), 0u);
}

TEST_F(AppTest, UnknownCommandIsAUsageError) {
  EXPECT_EQ(run({"frobnicate"}), kExitFailure);
  EXPECT_EQ(err.str().rfind("Error: ", 0), 0u);
  EXPECT_EQ(run({"exec", "--help"}), 0);
  EXPECT_NE(out.str().find("Example:"), std::string::npos);
}

TEST_F(AppTest, VersionAndDaemonStatus) {
  ASSERT_EQ(run({"version"}), 0);
  EXPECT_NE(out.str().find("Client: sbx "), std::string::npos);
  EXPECT_NE(out.str().find("Daemon: sandboxd 0.1.0 (api 1)"), std::string::npos);
  ASSERT_EQ(run({"daemon", "status", "--json"}), 0);
  auto j = nlohmann::json::parse(out.str(), nullptr, false);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["running"], true);
  fake.reset();  // no daemon any more
  EXPECT_EQ(run({"daemon", "status"}), 1);
  EXPECT_NE(out.str().find("not running"), std::string::npos);
  ASSERT_EQ(run({"version"}), 0);
  EXPECT_NE(out.str().find("Daemon: not running"), std::string::npos);
  // Commands that need the daemon try to start it and explain the failure.
  EXPECT_EQ(run({"ls"}), kExitFailure);
  EXPECT_NE(err.str().find("no-such-sandboxd does not exist"), std::string::npos);
}

bool saw(FakeDaemon& f, const std::string& method, const std::string& target) {
  for (auto& r : f.requests())
    if (r.method == method && r.target == target) return true;
  return false;
}

TEST_F(AppTest, RunAttachesABashLoginShellWithAgentArguments) {
  EXPECT_EQ(run({"run", "shell-a", "--", "-c", "exit 3"}), 7) << err.str();
  EXPECT_EQ(out.str(), "Starting shell agent in sandbox 'shell-a'...\nWorkspace: /w/a\n");
  auto req = proto::parse_exec_request(fake->requests().back().body);
  ASSERT_TRUE(req);
  EXPECT_EQ(req->argv, (std::vector<std::string>{"bash", "-l", "-c", "exit 3"}));
  EXPECT_EQ(req->cwd, "/w/a");
  EXPECT_TRUE(req->user.empty());  // the daemon picks the sandbox's user
  EXPECT_FALSE(req->tty);          // stdin is a pipe here: no PTY, no raw mode
  EXPECT_FALSE(saw(*fake, "DELETE", "/v1/sandboxes/shell-a?force=1"));
}

TEST_F(AppTest, RunRmRemovesTheSandboxAfterTheSession) {
  EXPECT_EQ(run({"run", "--rm", "shell-a"}), 7) << err.str();
  EXPECT_TRUE(saw(*fake, "DELETE", "/v1/sandboxes/shell-a?force=1"));
}

TEST_F(AppTest, RunRefusesConflictsBeforeAnyRequest) {
  EXPECT_EQ(run({"run", "-d", "--rm", "shell-a"}), kExitFailure);
  EXPECT_NE(err.str().find("--rm and -d"), std::string::npos);
  EXPECT_EQ(run({"run", "-p", "99999", "shell-a"}), kExitFailure);
  EXPECT_NE(err.str().find("99999"), std::string::npos) << err.str();
  EXPECT_EQ(run({"run", "-d", "shell-a", "--", "x"}), kExitFailure);
  EXPECT_EQ(mutating_requests(), 0u);
}

TEST_F(AppTest, CreateSendsPortsAndDockerSize) {
  ASSERT_EQ(run({"create", "-q", "--name", "p", "-p", "8080:5000", "--publish", "3000",
                 "--docker-size", "20g", "shell", dir->path()}),
            0)
      << err.str();
  auto req = proto::parse_create_request(fake->requests().back().body);
  ASSERT_TRUE(req);
  ASSERT_EQ(req->ports.size(), 2u);
  EXPECT_EQ(req->ports[0].host_port, 8080);
  EXPECT_EQ(req->ports[0].sandbox_port, 5000);
  EXPECT_EQ(req->ports[1].host_port, 0);
  EXPECT_EQ(req->ports[1].sandbox_port, 3000);
  EXPECT_EQ(req->docker_bytes, 20ull << 30);
  EXPECT_EQ(run({"create", "--docker-size", "lots", "shell", dir->path()}), kExitFailure);
  EXPECT_NE(err.str().find("invalid --docker-size 'lots'"), std::string::npos);
}

TEST_F(AppTest, PortsListPublishUnpublishAndJson) {
  ASSERT_EQ(run({"ports", "shell-a"}), 0) << err.str();
  EXPECT_EQ(out.str(), "HOST              SANDBOX PORT\n127.0.0.1:49152   5000/tcp\n");
  ASSERT_EQ(run({"ports", "shell-a", "--publish", "5001"}), 0) << err.str();
  EXPECT_EQ(out.str(), "Published 127.0.0.1:49153 -> 5001/tcp\n");
  auto sent = proto::parse_port_mapping(fake->requests().back().body);
  ASSERT_TRUE(sent);
  EXPECT_EQ(sent->host_port, 0);
  ASSERT_EQ(run({"ports", "shell-a", "--unpublish", "49152"}), 0) << err.str();
  EXPECT_EQ(out.str(), "Unpublished 127.0.0.1:49152 -> 5000/tcp\n");
  EXPECT_EQ(run({"ports", "shell-a", "--unpublish", "1234"}), kExitFailure);
  EXPECT_NE(err.str().find("no published port of sandbox 'shell-a' matches '1234'"),
            std::string::npos)
      << err.str();
  ASSERT_EQ(run({"ports", "--json", "shell-a"}), 0);
  auto j = nlohmann::json::parse(out.str(), nullptr, false);
  ASSERT_TRUE(j.is_array());
  EXPECT_EQ(j[0]["sandbox_port"], 5000);
}

TEST_F(AppTest, PortSpecsAreCheckedBeforeTheDaemon) {
  size_t before = fake->requests().size();
  EXPECT_EQ(run({"ports", "shell-a", "--publish", "80/udp"}), kExitFailure);
  EXPECT_NE(err.str().find("udp"), std::string::npos);
  EXPECT_EQ(run({"ports", "shell-a", "--unpublish", "x:y"}), kExitFailure);
  EXPECT_EQ(fake->requests().size(), before);
}

TEST_F(AppTest, ResetAndPruneNeedATerminalOrForce) {
  EXPECT_EQ(run({"reset"}), kExitFailure);
  EXPECT_NE(err.str().find("sbx reset -f"), std::string::npos) << err.str();
  EXPECT_EQ(run({"prune"}), kExitFailure);
  EXPECT_FALSE(saw(*fake, "POST", "/v1/reset"));
  EXPECT_FALSE(saw(*fake, "POST", "/v1/prune"));
  ASSERT_EQ(run({"reset", "-f"}), 0) << err.str();
  EXPECT_EQ(out.str(),
            "Removed sandbox 'shell-a'\nRemoved sandbox 'b'\nRemoved 2 sandboxes\n"
            "Removed all stored secrets (keep them with 'sbx reset --preserve-secrets')\n");
  EXPECT_TRUE(saw(*fake, "POST", "/v1/secrets/reset"));
  ASSERT_EQ(run({"prune", "--dry-run"}), 0) << err.str();
  EXPECT_NE(out.str().find("Would remove sandbox 'b'"), std::string::npos) << out.str();
  EXPECT_FALSE(saw(*fake, "POST", "/v1/prune"));
  ASSERT_EQ(run({"prune", "-f", "--json"}), 0) << err.str();
  auto j = nlohmann::json::parse(out.str(), nullptr, false);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["bytes"], 1048576);
}

TEST_F(AppTest, InspectShowsDetailsErrorsAndJson) {
  ASSERT_EQ(run({"inspect", "b"}), 0) << err.str();
  EXPECT_NE(out.str().find("Status:    failed"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("  console: tail\n"), std::string::npos) << out.str();
  EXPECT_EQ(out.str().find('\033'), std::string::npos);  // stdout is not a terminal
  ASSERT_EQ(run({"inspect", "--json", "shell-a"}), 0);
  auto j = nlohmann::json::parse(out.str(), nullptr, false);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["status"], "running");
  EXPECT_EQ(run({"inspect", "ghost"}), kExitFailure);
  EXPECT_NE(err.str().find("sandbox 'ghost' not found"), std::string::npos);
}

TEST_F(AppTest, PolicyLogQueriesAndPrints) {
  ASSERT_EQ(run({"policy", "log"}), 0) << err.str();
  EXPECT_NE(out.str().find("SANDBOX"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("evil.example"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("default policy balanced"), std::string::npos) << out.str();
  EXPECT_TRUE(saw(*fake, "GET", "/v1/policy/log?limit=100"));
  ASSERT_EQ(run({"policy", "log", "shell-a", "--blocked", "--limit", "5", "--json"}), 0)
      << err.str();
  auto j = nlohmann::json::parse(out.str(), nullptr, false);
  ASSERT_TRUE(j.is_array());
  EXPECT_EQ(j[0]["verdict"], "deny");
  EXPECT_TRUE(saw(*fake, "GET", "/v1/policy/log?limit=5&sandbox=shell-a&blocked=1"));
  EXPECT_EQ(run({"policy", "log", "ghost"}), kExitFailure);
  EXPECT_NE(err.str().find("sandbox 'ghost' not found"), std::string::npos) << err.str();
  EXPECT_EQ(run({"policy", "log", "--limit", "0"}), kExitFailure);
  EXPECT_NE(err.str().find("--limit"), std::string::npos) << err.str();
  ASSERT_EQ(run({"policy", "log", "--help"}), 0);
  EXPECT_NE(out.str().find("Example"), std::string::npos);
}

TEST_F(AppTest, DenyNetworkGoesInTheCreateRequest) {
  ASSERT_EQ(run({"create", "--deny-network", "--name", "off", "shell", dir->path()}), 0)
      << err.str();
  ASSERT_EQ(run({"create", "--name", "on", "shell", dir->path()}), 0) << err.str();
  std::vector<bool> flags;
  for (auto& r : fake->requests())
    if (r.method == "POST" &&
        (r.target == "/v1/sandboxes" || r.target == "/v1/sandboxes?progress=1"))
      flags.push_back(proto::parse_create_request(r.body)->deny_network);
  EXPECT_EQ(flags, (std::vector<bool>{true, false}));
  // An existing sandbox keeps its network mode: say so, change nothing.
  auto writes = [&] {
    size_t n = 0;
    for (auto& r : fake->requests())
      if (r.method != "GET") ++n;
    return n;
  };
  size_t before = writes();
  EXPECT_EQ(run({"run", "--deny-network", "shell-a"}), kExitFailure);
  EXPECT_NE(err.str().find("already exists and has network access"), std::string::npos)
      << err.str();
  EXPECT_EQ(writes(), before);
  for (auto* c : {"create", "run"}) {
    ASSERT_EQ(run({c, "--help"}), 0);
    EXPECT_NE(out.str().find("--deny-network"), std::string::npos) << c;
  }
}

TEST_F(AppTest, CpRefusesBadArgumentsAndMissingSources) {
  EXPECT_EQ(run({"cp", "a", "b"}), kExitFailure);
  EXPECT_NE(err.str().find("SANDBOX:PATH"), std::string::npos);
  EXPECT_EQ(run({"cp", dir->path() + "/missing", "shell-a:/tmp"}), kExitFailure);
  EXPECT_NE(err.str().find("/missing' does not exist"), std::string::npos) << err.str();
  EXPECT_EQ(mutating_requests(), 0u);
}

TEST_F(AppTest, EveryCommandHasHelpWithAnExample) {
  for (auto* c : {"create", "ls", "exec", "run", "stop", "rm", "ports", "inspect", "cp", "reset",
                  "prune", "completion", "version", "daemon"}) {
    EXPECT_EQ(run({c, "--help"}), 0) << c;
    EXPECT_NE(out.str().find("Example"), std::string::npos) << c;
  }
}

TEST_F(AppTest, CompletionCoversTheCommandTree) {
  ASSERT_EQ(run({"completion", "bash"}), 0) << err.str();
  for (auto* w : {"complete -F _sbx sbx", "ports", "--publish", "--unpublish", "--docker-size",
                  "--rm", "--dry-run", "sbx ls -q"})
    EXPECT_NE(out.str().find(w), std::string::npos) << w;
  EXPECT_EQ(run({"completion", "powershell"}), kExitFailure);
}

}  // namespace
}  // namespace sbx::cli

namespace sbx::cli {
namespace {

TEST_F(AppTest, ResetPreservesSecretsWhenAsked) {
  ASSERT_EQ(run({"reset", "-f", "--preserve-secrets"}), 0) << err.str();
  EXPECT_TRUE(saw(*fake, "POST", "/v1/reset"));
  EXPECT_FALSE(saw(*fake, "POST", "/v1/secrets/reset"));
}

TEST_F(AppTest, SecretSetReadsStdinAndNeverPrintsIt) {
  ASSERT_TRUE(write_all(outp->second.get(), "sk-ant-FROM-STDIN\n").ok());
  ASSERT_EQ(run({"secret", "set", "-g", "anthropic"}), 0) << err.str();
  auto body = nlohmann::json::parse(fake->requests().back().body);
  EXPECT_EQ(body["value"], "sk-ant-FROM-STDIN");
  EXPECT_EQ(body["scope"], "");
  EXPECT_EQ(body["service"], "anthropic");
  EXPECT_EQ((out.str() + err.str()).find("FROM-STDIN"), std::string::npos);
  ASSERT_EQ(run({"secret", "set", "my-box", "openai", "-t", "tok"}), 0) << err.str();
  body = nlohmann::json::parse(fake->requests().back().body);
  EXPECT_EQ(body["scope"], "my-box");
  EXPECT_EQ(body["value"], "tok");
  // Neither -g nor a sandbox: refused before any request.
  size_t before = fake->requests().size();
  EXPECT_EQ(run({"secret", "set", "openai", "-t", "x"}), kExitFailure);
  EXPECT_EQ(fake->requests().size(), before);
}

TEST_F(AppTest, SecretSetCustomAndRmAndLs) {
  ASSERT_EQ(run({"secret", "set-custom", "--host", "api.example.com", "--host", "b.example.com",
                 "--env", "EX_KEY", "--header", "X-Key", "-t", "v", "-g"}),
            0)
      << err.str();
  auto body = nlohmann::json::parse(fake->requests().back().body);
  EXPECT_EQ(body["custom"], true);
  EXPECT_EQ(body["hosts"].size(), 2u);
  EXPECT_EQ(body["env"], "EX_KEY");
  EXPECT_EQ(body["header"], "X-Key");
  ASSERT_EQ(run({"secret", "rm", "-g", "anthropic"}), 0) << err.str();
  body = nlohmann::json::parse(fake->requests().back().body);
  EXPECT_EQ(body["service"], "anthropic");
  ASSERT_EQ(run({"secret", "ls"}), 0) << err.str();
  EXPECT_NE(out.str().find("anthropic"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("api.anthropic.com"), std::string::npos) << out.str();
}

TEST_F(AppTest, SecretBypassAddRmAndLs) {
  ASSERT_EQ(run({"secret", "bypass", "add", "-g", "api.github.com"}), 0) << err.str();
  EXPECT_TRUE(saw(*fake, "POST", "/v1/secrets/bypass"));
  auto body = nlohmann::json::parse(fake->requests().back().body);
  EXPECT_EQ(body["scope"], "");
  EXPECT_EQ(body["host"], "api.github.com");
  EXPECT_NE(out.str().find("no credential"), std::string::npos) << out.str();
  ASSERT_EQ(run({"secret", "bypass", "rm", "box", "pinned.example"}), 0) << err.str();
  EXPECT_TRUE(saw(*fake, "POST", "/v1/secrets/bypass/remove"));
  body = nlohmann::json::parse(fake->requests().back().body);
  EXPECT_EQ(body["scope"], "box");
  EXPECT_EQ(body["host"], "pinned.example");
  ASSERT_EQ(run({"secret", "bypass", "ls"}), 0) << err.str();
  EXPECT_NE(out.str().find("pinned.example"), std::string::npos) << out.str();
  ASSERT_EQ(run({"secret", "bypass", "ls", "--json"}), 0) << err.str();
  EXPECT_NE(out.str().find(R"("host": "pinned.example")"), std::string::npos) << out.str();
  // Neither -g nor a sandbox: refused before any request.
  size_t before = fake->requests().size();
  EXPECT_EQ(run({"secret", "bypass", "add", "api.github.com"}), kExitFailure);
  EXPECT_EQ(fake->requests().size(), before);
}

}  // namespace
}  // namespace sbx::cli
