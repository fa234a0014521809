// End to end on loopback: a guest speaking TLS through EgressProxy to a
// fake HTTPS upstream that has its own certificate chain, reached under a
// real host name through the test-only upstream override.
#include "net/tls_interceptor.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <sys/socket.h>

#include <csignal>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "base/files.h"
#include "net/egress_proxy.h"
#include "net/tls_sni.h"
#include "support/loopback_server.h"

namespace sbx::net {
namespace {

const char* kKey = "sk-ant-REAL-KEY-0123456789";

// Reads one response (head + Content-Length body) or until EOF.
std::string read_response(SSL* ssl) {
  std::string got;
  char buf[4096];
  for (;;) {
    size_t end = got.find("\r\n\r\n");
    if (end != std::string::npos) {
      size_t cl = 0;
      auto p = got.find("Content-Length: ");
      if (p != std::string::npos && p < end) cl = std::stoul(got.substr(p + 16));
      if (got.size() >= end + 4 + cl) return got.substr(0, end + 4 + cl);
    }
    int n = SSL_read(ssl, buf, sizeof buf);
    if (n <= 0) return got;
    got.append(buf, static_cast<size_t>(n));
  }
}

// An HTTPS server on loopback presenting a leaf for any host from its own
// CA ("the public CA" of these tests); records each request head.
class FakeHttpsUpstream {
 public:
  explicit FakeHttpsUpstream(CertAuthority& ca) : ca_(ca), server_([this](int fd) { serve(fd); }) {}
  uint16_t port() const { return server_.port(); }
  std::vector<std::string> heads() {
    std::lock_guard l(mu_);
    return heads_;
  }
  int accepted() const { return server_.accepted(); }

 private:
  void serve(int fd) {
    // The leaf is for whichever name the client asks: the override lets
    // several real names reach this one server.
    char peek[16384];
    ssize_t n = ::recv(fd, peek, sizeof peek, MSG_PEEK);
    if (n <= 0) return;
    SniResult sni = extract_sni(std::string_view(peek, static_cast<size_t>(n)));
    auto ctx = ca_.server_context(sni.status == SniStatus::kFound ? sni.host : "localhost");
    if (!ctx) return;
    SSL* ssl = SSL_new(ctx->get());
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) == 1) {
      std::string buf;
      char tmp[4096];
      for (;;) {
        size_t end = buf.find("\r\n\r\n");
        if (end == std::string::npos) {
          int r = SSL_read(ssl, tmp, sizeof tmp);
          if (r <= 0) break;
          buf.append(tmp, static_cast<size_t>(r));
          continue;
        }
        {
          std::lock_guard l(mu_);
          heads_.push_back(buf.substr(0, end + 4));
        }
        buf.erase(0, end + 4);
        std::string resp = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        if (SSL_write(ssl, resp.data(), static_cast<int>(resp.size())) <= 0) break;
      }
    }
    SSL_free(ssl);
  }

  CertAuthority& ca_;
  std::mutex mu_;
  std::vector<std::string> heads_;
  testing::LoopbackServer server_;
};

class FixedCredentials : public CredentialSource {
 public:
  std::vector<CredentialRule> rules_for(const std::string& sandbox,
                                        const std::string& host) const override {
    if (sandbox == "s1" && host == "api.anthropic.com")
      return {CredentialRule{"anthropic", "x-api-key", CredentialFormat::kRaw, "", kKey}};
    return {};
  }
  bool bypassed(const std::string& sandbox, const std::string& host) const override {
    return sandbox == "s1" && bypass.count(host) > 0;
  }
  std::set<std::string> bypass;  ///< hosts exempted, as `sbx secret bypass add s1 HOST`
};

class InterceptTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::signal(SIGPIPE, SIG_IGN);  // as sandboxd's main() does: a closed peer is EPIPE
    auto dir = TempDir::create("intercept");
    ASSERT_TRUE(dir.ok());
    dir_ = std::make_unique<TempDir>(std::move(*dir));
    auto sbx = CertAuthority::load_or_create(dir_->path() + "/sbx");
    auto pub = CertAuthority::load_or_create(dir_->path() + "/public");
    ASSERT_TRUE(sbx.ok() && pub.ok());
    sbx_ca_ = std::move(*sbx);
    public_ca_ = std::move(*pub);
    upstream_ = std::make_unique<FakeHttpsUpstream>(*public_ca_);
    InterceptOptions io;
    io.upstream_ca_file = public_ca_->ca_cert_path();
    auto t = TlsInterceptor::create(*sbx_ca_, io);
    ASSERT_TRUE(t.ok()) << t.error().message;
    interceptor_ = std::move(*t);
    auto log = NetworkLog::open(":memory:");
    ASSERT_TRUE(log.ok());
    log_ = std::move(*log);
    std::vector<Rule> rules;
    int64_t id = 1;
    for (auto r : {"api.anthropic.com", "api.anthropic.com.evil.test", "other.test"})
      rules.push_back(Rule{id++, "", Action::kAllow, *parse_resource(r)});
    policy_ = std::make_shared<const Policy>(make_policy(Preset::kDenyAll, {}, rules));
    opts_.credentials = &creds_;
    opts_.interceptor = interceptor_.get();
    std::string target = "=127.0.0.1:" + std::to_string(upstream_->port());
    opts_.upstream_override = *parse_upstream_overrides("api.anthropic.com:443" + target +
                                                        ",api.anthropic.com.evil.test:443" +
                                                        target + ",other.test:443" + target);
  }

  // A guest connection: CONNECT `connect_host`, then TLS with `sni`,
  // trusting `trust`. Runs the proxy on a thread of its own.
  struct Guest {
    Fd fd;
    std::unique_ptr<FdStream> stream;
    std::thread proxy_thread;
    SSL_CTX* ctx = nullptr;
    SSL* ssl = nullptr;
    std::string connect_reply;
    ~Guest() {
      if (ssl) SSL_free(ssl);
      if (ctx) SSL_CTX_free(ctx);
      fd.reset();
      if (proxy_thread.joinable()) proxy_thread.join();
    }
  };

  std::unique_ptr<Guest> open(const std::string& connect_host, const std::string& sni,
                              CertAuthority& trust, bool* verified) {
    auto g = std::make_unique<Guest>();
    auto pair = socket_pair();
    g->fd = std::move(pair->first);
    g->stream = std::make_unique<FdStream>(std::move(pair->second));
    proxy_ = std::make_unique<EgressProxy>([this] { return policy_; }, resolver_, connector_,
                                           log_.get(), opts_);
    g->proxy_thread = std::thread([this, s = g->stream.get()] {
      (void)proxy_->handle(*s, ConnectionInfo{"s1", ConnectionKind::kForward, {}, 0});
    });
    EXPECT_TRUE(write_all(g->fd.get(), "CONNECT " + connect_host + ":443 HTTP/1.1\r\nHost: " +
                                           connect_host + ":443\r\n\r\n")
                    .ok());
    char c;
    while (g->connect_reply.find("\r\n\r\n") == std::string::npos &&
           ::read(g->fd.get(), &c, 1) == 1)
      g->connect_reply += c;
    g->ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_load_verify_locations(g->ctx, trust.ca_cert_path().c_str(), nullptr);
    SSL_CTX_set_verify(g->ctx, SSL_VERIFY_PEER, nullptr);
    g->ssl = SSL_new(g->ctx);
    SSL_set_tlsext_host_name(g->ssl, sni.c_str());
    SSL_set1_host(g->ssl, connect_host.c_str());
    SSL_set_fd(g->ssl, g->fd.get());
    *verified = SSL_connect(g->ssl) == 1;
    ERR_clear_error();
    return g;
  }

  std::string request(Guest& g, const std::string& req) {
    if (SSL_write(g.ssl, req.data(), static_cast<int>(req.size())) <= 0) return "";
    return read_response(g.ssl);
  }

  std::string log_text() {
    std::string all;
    auto entries = log_->query({});
    for (const auto& e : *entries) all += to_json(e) + "\n";
    return all;
  }

  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<CertAuthority> sbx_ca_, public_ca_;
  std::unique_ptr<FakeHttpsUpstream> upstream_;
  std::unique_ptr<TlsInterceptor> interceptor_;
  std::unique_ptr<NetworkLog> log_;
  std::shared_ptr<const Policy> policy_;
  FixedCredentials creds_;
  EgressOptions opts_;
  StaticResolver resolver_;
  UpstreamConnector connector_{ProxySettings{}, resolver_};
  std::unique_ptr<EgressProxy> proxy_;
};

TEST_F(InterceptTest, UpstreamReceivesExactlyTheInjectedHeader) {
  bool ok = false;
  auto g = open("api.anthropic.com", "api.anthropic.com", *sbx_ca_, &ok);
  ASSERT_TRUE(ok) << "the guest does not accept the sbx CA's chain: " << g->connect_reply;
  std::string resp = request(*g,
                             "GET /v1/models HTTP/1.1\r\nHost: api.anthropic.com\r\n"
                             "x-api-key: proxy-managed\r\n\r\n");
  EXPECT_NE(resp.find("200 OK"), std::string::npos) << resp;
  auto heads = upstream_->heads();
  ASSERT_EQ(heads.size(), 1u);
  EXPECT_EQ(heads[0], std::string("GET /v1/models HTTP/1.1\r\nHost: api.anthropic.com\r\n"
                                  "x-api-key: ") +
                          kKey + "\r\n\r\n");
  g.reset();
  std::string log = log_text();
  EXPECT_NE(log.find("intercepted: credential anthropic"), std::string::npos) << log;
  EXPECT_EQ(log.find(kKey), std::string::npos) << "the key reached the network log";
}

TEST_F(InterceptTest, LookAlikeAndOtherHostsAreNotInterceptedAndGetNoKey) {
  for (std::string host : {"api.anthropic.com.evil.test", "other.test"}) {
    bool ok = false;
    // Relayed untouched: the guest sees the upstream's own chain, not ours.
    auto g = open(host, host, *public_ca_, &ok);
    ASSERT_TRUE(ok) << host;
    std::string resp = request(
        *g, "GET / HTTP/1.1\r\nHost: " + host +
                "\r\nx-api-key: proxy-managed\r\nAuthorization: Bearer proxy-managed\r\n\r\n");
    EXPECT_NE(resp.find("200 OK"), std::string::npos) << resp;
  }
  auto heads = upstream_->heads();
  ASSERT_EQ(heads.size(), 2u);
  for (const auto& h : heads) {
    EXPECT_EQ(h.find(kKey), std::string::npos) << h;
    EXPECT_NE(h.find("x-api-key: proxy-managed"), std::string::npos) << h;
  }
  EXPECT_EQ(sbx_ca_->minted(), 0u);
}

TEST_F(InterceptTest, BypassedHostIsRelayedOpaquelyWithoutTheKeyAndMarkedInTheLog) {
  creds_.bypass.insert("api.anthropic.com");
  bool ok = false;
  // Opaque: the guest sees the upstream's own chain, as a pinning client needs.
  auto g = open("api.anthropic.com", "api.anthropic.com", *public_ca_, &ok);
  ASSERT_TRUE(ok) << g->connect_reply;
  std::string resp = request(
      *g, "GET /v1/models HTTP/1.1\r\nHost: api.anthropic.com\r\nx-api-key: proxy-managed\r\n\r\n");
  EXPECT_NE(resp.find("200 OK"), std::string::npos) << resp;
  g.reset();
  auto heads = upstream_->heads();
  ASSERT_EQ(heads.size(), 1u);
  EXPECT_NE(heads[0].find("x-api-key: proxy-managed"), std::string::npos) << heads[0];
  EXPECT_EQ(heads[0].find(kKey), std::string::npos) << heads[0];
  EXPECT_EQ(sbx_ca_->minted(), 0u);
  std::string log = log_text();
  EXPECT_NE(log.find("bypassed: relayed without TLS interception"), std::string::npos) << log;
  EXPECT_EQ(log.find("intercepted"), std::string::npos) << log;
}

TEST_F(InterceptTest, DomainFrontingIsRefused) {
  bool ok = true;
  auto g = open("api.anthropic.com", "other.test", *sbx_ca_, &ok);
  EXPECT_FALSE(ok);
  g.reset();
  EXPECT_TRUE(upstream_->heads().empty());
  std::string log = log_text();
  EXPECT_NE(log.find("domain fronting"), std::string::npos) << log;
}

TEST_F(InterceptTest, HostMismatchIsRefusedAndLogged) {
  bool ok = false;
  auto g = open("api.anthropic.com", "api.anthropic.com", *sbx_ca_, &ok);
  ASSERT_TRUE(ok);
  std::string resp =
      request(*g, "GET / HTTP/1.1\r\nHost: other.test\r\nx-api-key: proxy-managed\r\n\r\n");
  EXPECT_NE(resp.find("421"), std::string::npos) << resp;
  EXPECT_NE(resp.find("does not match"), std::string::npos) << resp;
  g.reset();
  EXPECT_TRUE(upstream_->heads().empty());
  EXPECT_NE(log_text().find("refused: Host header 'other.test'"), std::string::npos) << log_text();
}

TEST_F(InterceptTest, SecondRequestWithAnotherHostOnAKeptAliveConnectionIsRefused) {
  bool ok = false;
  auto g = open("api.anthropic.com", "api.anthropic.com", *sbx_ca_, &ok);
  ASSERT_TRUE(ok);
  EXPECT_NE(request(*g, "GET /1 HTTP/1.1\r\nHost: api.anthropic.com\r\n\r\n").find("200 OK"),
            std::string::npos);
  std::string second = request(*g, "GET /2 HTTP/1.1\r\nHost: other.test\r\n\r\n");
  EXPECT_NE(second.find("421"), std::string::npos) << second;
  g.reset();
  auto heads = upstream_->heads();
  ASSERT_EQ(heads.size(), 1u);
  EXPECT_NE(heads[0].find("GET /1 "), std::string::npos);
}

TEST_F(InterceptTest, UpstreamThatFailsVerificationGetsNothing) {
  // The upstream's chain is not in the trust store the interceptor uses.
  InterceptOptions io;
  io.upstream_ca_file = sbx_ca_->ca_cert_path();
  auto strict = TlsInterceptor::create(*sbx_ca_, io);
  ASSERT_TRUE(strict.ok());
  opts_.interceptor = strict->get();
  bool ok = false;
  auto g = open("api.anthropic.com", "api.anthropic.com", *sbx_ca_, &ok);
  ASSERT_TRUE(ok);
  std::string resp = read_response(g->ssl);
  EXPECT_NE(resp.find("502"), std::string::npos) << resp;
  EXPECT_NE(resp.find("certificate verification failed"), std::string::npos) << resp;
  g.reset();
  EXPECT_TRUE(upstream_->heads().empty());
}

TEST(UpstreamOverride, ParsesAndAcceptsOnlyLoopbackTargets) {
  auto o = parse_upstream_overrides("API.Anthropic.com:443=127.0.0.1:8443");
  ASSERT_TRUE(o.ok()) << o.error().message;
  ASSERT_EQ(o->count("api.anthropic.com:443"), 1u);
  EXPECT_EQ(o->at("api.anthropic.com:443").port, 8443);
  EXPECT_FALSE(parse_upstream_overrides("a.test:443=10.0.0.1:443").ok());
  EXPECT_FALSE(parse_upstream_overrides("a.test:443").ok());
}

}  // namespace
}  // namespace sbx::net
