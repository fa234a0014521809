// Published ports and the private Docker daemon: the seed's web-app demo,
// made offline. A server in the guest is reached through a host port on
// loopback; many connections and a large transfer do not stall; mappings
// survive sandbox and daemon restarts; --unpublish closes the listener; the
// guest's own dockerd builds and runs a container whose processes the host
// never sees.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/child_process.h"
#include "base/files.h"
#include "base/strings.h"
#include "harness/sandbox_suite.h"
#include "support/loopback_server.h"

namespace sbx::testing {
namespace {

using namespace std::chrono_literals;

class PortsTest : public SandboxSuite<PortsTest> {
 public:
  static SandboxOptions options() { return {.name = "web", .workspace = "ports-ws"}; }

 protected:
  // A threaded HTTP server on the guest's loopback, serving DIR.
  static void serve(const std::string& dir, int port) {
    auto r = sbx({"exec", "-d", "-u", "root", "web", "--", "sh", "-c",
                  "cd " + dir + " && exec python3 -m http.server " + std::to_string(port) +
                      " --bind 127.0.0.1 >/tmp/http-" + std::to_string(port) + ".log 2>&1"});
    ASSERT_EQ(r.code, 0) << r.all();
    // Ready when it answers inside the guest.
    auto w = guest(
        "for i in $(seq 100); do python3 -c \"import urllib.request as u; "
        "u.urlopen('http://127.0.0.1:" +
        std::to_string(port) + "/', timeout=2)\" 2>/dev/null && exit 0; sleep 0.2; done; exit 1");
    ASSERT_EQ(w.code, 0) << "server did not come up: " << w.all();
  }
  static uint16_t publish(const std::string& spec) {
    auto r = sbx({"ports", "web", "--publish", spec});
    EXPECT_EQ(r.code, 0) << r.all();
    uint16_t p = published_port(r.out);
    EXPECT_NE(p, 0) << r.out;
    return p;
  }
};

TEST_F(PortsTest, ServerOnGuestLoopbackIsReachableAndConcurrent) {
  ASSERT_EQ(guest("mkdir -p /srv/www && echo 'hello from the sandbox' > /srv/www/index.html").code,
            0);
  serve("/srv/www", 5000);
  uint16_t port = publish("5000");
  EXPECT_GE(port, 49152);
  auto body = http_get(port, "/index.html");
  ASSERT_TRUE(body.ok()) << body.error().message;
  EXPECT_EQ(*body, "hello from the sandbox\n");

  // 50 concurrent requests through the one published port, all answered.
  ASSERT_EQ(guest("cd /srv/www && for i in $(seq 50); do echo page-$i > p$i.txt; done").code, 0);
  std::vector<std::future<Result<std::string>>> fs;
  for (int i = 1; i <= 50; ++i)
    fs.push_back(std::async(std::launch::async, [port, i] {
      return http_get(port, "/p" + std::to_string(i) + ".txt");
    }));
  int good = 0;
  for (int i = 1; i <= 50; ++i) {
    auto r = fs[i - 1].get();
    if (r.ok() && *r == "page-" + std::to_string(i) + "\n")
      ++good;
    else
      ADD_FAILURE() << "request " << i << ": " << (r.ok() ? *r : r.error().message);
  }
  EXPECT_EQ(good, 50);

  auto ls = sbx({"ls"});
  EXPECT_NE(ls.out.find("127.0.0.1:" + std::to_string(port) + "->5000/tcp"), std::string::npos)
      << ls.out;
}

TEST_F(PortsTest, HundredMiBDownloadMatchesItsChecksum) {
  auto mk = guest(
      "mkdir -p /srv/big && head -c 104857600 /dev/urandom > /srv/big/blob && "
      "sha256sum /srv/big/blob | cut -d' ' -f1");
  ASSERT_EQ(mk.code, 0) << mk.all();
  serve("/srv/big", 5001);
  uint16_t port = publish("5001");
  auto body = http_get(port, "/blob");
  ASSERT_TRUE(body.ok()) << body.error().message;
  EXPECT_EQ(body->size(), 104857600u);
  auto dir = TempDir::create("sbx-dl");
  ASSERT_TRUE(dir.ok());
  ASSERT_TRUE(write_file_atomic(dir->path() + "/blob", *body).ok());
  auto sum = run_checked({"sha256sum", dir->path() + "/blob"});
  ASSERT_TRUE(sum.ok());
  EXPECT_EQ(sum->substr(0, 64), trim(mk.out));
}

TEST_F(PortsTest, BadSpecsAndBusyPortsAreRefused) {
  auto bad = sbx({"ports", "web", "--publish", "70000"});
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.err.find("70000"), std::string::npos) << bad.all();
  auto unknown = sbx({"ports", "ghost", "--publish", "5000"});
  EXPECT_NE(unknown.code, 0);
  EXPECT_NE(unknown.err.find("'ghost' not found"), std::string::npos) << unknown.all();

  // A host port someone else holds.
  LoopbackServer holder;
  ASSERT_TRUE(holder.ok());
  int busy = holder.port();
  auto r = sbx({"ports", "web", "--publish", std::to_string(busy) + ":5000"});
  holder.stop();
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("already in use"), std::string::npos) << r.all();
}

TEST_F(PortsTest, MappingsSurviveRestartsAndUnpublishCloses) {
  ASSERT_EQ(guest("mkdir -p /srv/keep && echo kept > /srv/keep/k.txt").code, 0);
  uint16_t port = publish("5002");
  // Sandbox restart: the mapping comes back with the VM.
  ASSERT_EQ(sbx({"stop", "web"}).code, 0);
  serve("/srv/keep", 5002);  // exec starts the sandbox again
  auto b1 = http_get(port, "/k.txt");
  ASSERT_TRUE(b1.ok()) << b1.error().message;
  EXPECT_EQ(*b1, "kept\n");
  // Daemon restart (VMs keep running, the new daemon re-binds).
  ASSERT_EQ(sbx({"daemon", "stop"}).code, 0);
  EXPECT_TRUE(connect_refused(port)) << "listener outlived its daemon";
  auto ports = sbx({"ports", "web", "--json"});  // starts a new daemon
  ASSERT_EQ(ports.code, 0) << ports.all();
  EXPECT_NE(ports.out.find(std::to_string(port)), std::string::npos) << ports.out;
  auto b2 = http_get(port, "/k.txt");
  ASSERT_TRUE(b2.ok()) << b2.error().message;
  EXPECT_EQ(*b2, "kept\n");

  auto un = sbx({"ports", "web", "--unpublish", std::to_string(port)});
  ASSERT_EQ(un.code, 0) << un.all();
  EXPECT_TRUE(connect_refused(port));
}

TEST_F(PortsTest, PrivateDockerBuildsAndRunsTheSeedDemo) {
  auto info = sbx({"exec", "-u", "agent", "web", "--", "sh", "-c",
                   "for i in $(seq 120); do docker info >/dev/null 2>&1 && exit 0; sleep 1; done; "
                   "docker info"});
  ASSERT_EQ(info.code, 0) << "user agent cannot use the private dockerd: " << info.all();

  // No registry is reachable: make a base image with python3 from the
  // guest's own files.
  auto base = guest(
      "set -e; rm -rf /tmp/rootfs && mkdir -p /tmp/rootfs; cd /tmp/rootfs; "
      "py=$(readlink -f /usr/bin/python3); "
      "for f in $py $(ldd $py | grep -o '/[^ ]*'); do mkdir -p .$(dirname $f); cp -L $f .$f; done; "
      "mkdir -p usr/bin usr/lib tmp && ln -sf $py usr/bin/python3; "
      "cp -a /usr/lib/python3.11 usr/lib/; rm -rf usr/lib/python3.11/test "
      "usr/lib/python3.11/__pycache__; "
      "tar -C /tmp/rootfs -c . | docker import - sbxbase:py >/dev/null && echo imported");
  ASSERT_EQ(base.code, 0) << base.all();
  ASSERT_TRUE(
      write_file_atomic(ws() + "/app.py",
                        "import http.server\n"
                        "class H(http.server.BaseHTTPRequestHandler):\n"
                        "    def do_GET(self):\n"
                        "        self.send_response(200)\n"
                        "        self.end_headers()\n"
                        "        self.wfile.write(b'hello from a container in the sandbox\\n')\n"
                        "http.server.HTTPServer(('0.0.0.0', 5000), H).serve_forever()\n")
          .ok());
  ASSERT_TRUE(
      write_file_atomic(ws() + "/Dockerfile",
                        "FROM sbxbase:py\nCOPY app.py /app.py\nCMD [\"python3\", \"/app.py\"]\n")
          .ok());
  auto build = sbx({"exec", "-u", "agent", "web", "--", "docker", "build", "-t", "demo", ws()});
  ASSERT_EQ(build.code, 0) << build.all();
  auto run =
      sbx({"exec", "-u", "agent", "web", "--", "docker", "run", "-d", "-p", "5000:5000", "demo"});
  ASSERT_EQ(run.code, 0) << run.all();
  auto up = guest(
      "for i in $(seq 60); do python3 -c \"import urllib.request as u; "
      "u.urlopen('http://127.0.0.1:5000/', timeout=2)\" 2>/dev/null && exit 0; sleep 0.5; done; "
      "exit 1");
  ASSERT_EQ(up.code, 0) << up.all();
  uint16_t port = publish("5000");
  auto body = http_get(port, "/");
  ASSERT_TRUE(body.ok()) << body.error().message;
  EXPECT_EQ(*body, "hello from a container in the sandbox\n");

  // The container's processes and the daemon that runs them are the guest's.
  EXPECT_TRUE(host_pids_matching("/app.py").empty());
  EXPECT_TRUE(host_pids_matching("dockerd").empty()) << "a dockerd runs on the host";
  EXPECT_FALSE(path_exists("/var/run/docker.sock") && !host_pids_matching("containerd").empty());
  auto ps = guest("docker ps --format '{{.Image}}'");
  EXPECT_NE(ps.out.find("demo"), std::string::npos) << ps.all();
}

}  // namespace
}  // namespace sbx::testing
