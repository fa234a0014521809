// Credential injection cost, host side, no VM: HTTPS through net::EgressProxy
// in this process, the way sandboxd serves a guest's CONNECT, to one loopback
// HTTPS upstream (FakeHttpsUpstream) reached under two names through the
// test-only upstream override:
//   relayed      relayed.test: no credential rule, so the TLS bytes are
//                relayed opaquely (the client verifies the upstream's chain);
//   intercepted  intercepted.test: a credential rule, so sandboxd's side
//                terminates TLS with the sbx CA (leaf cached after the
//                first connection), rewrites each request head (the key
//                goes in) and re-encrypts upstream with verification.
// One client (OpenSSL, this process) drives both, interleaved, each run:
// small GETs on one kept-alive connection, small GETs each on a new
// connection (CONNECT + TLS handshake + GET), and one 64 MiB download.
// Every response is checked (200, exact size), and the upstream must have
// seen the key on every intercepted request and on no relayed one.
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/fd.h"
#include "base/files.h"
#include "bench_util.h"
#include "harness/fake_https_upstream.h"
#include "net/cert_authority.h"
#include "net/egress_proxy.h"
#include "net/policy.h"
#include "net/resolver.h"
#include "net/tls_interceptor.h"

namespace t = sbx::testing;
namespace net = sbx::net;
namespace b = sbx::bench;
using sbx::Result;

namespace {

constexpr int kKeepAliveRequests = 200;
constexpr int kNewConnections = 50;
constexpr uint64_t kBigBytes = 64ULL << 20;
constexpr const char* kKey = "sk-bench-KEY-0123456789";
constexpr const char* kIntercepted = "intercepted.test";
constexpr const char* kRelayed = "relayed.test";

class BenchCredentials : public net::CredentialSource {
 public:
  std::vector<net::CredentialRule> rules_for(const std::string&,
                                             const std::string& host) const override {
    if (host != kIntercepted) return {};
    return {net::CredentialRule{"bench", "x-api-key", net::CredentialFormat::kRaw, "", kKey}};
  }
};

/// One guest connection: the proxy serves its other end on a thread, as the
/// daemon does per egress channel.
class Conn {
 public:
  ~Conn() {
    if (ssl_) SSL_free(ssl_);
    fd_.reset();
    if (proxy_thread_.joinable()) proxy_thread_.join();
  }
  /// CONNECT `host`:443 through `proxy`, then TLS verified against `ctx`.
  static Result<std::unique_ptr<Conn>> open(net::EgressProxy& proxy, SSL_CTX* ctx,
                                            const std::string& host) {
    auto pair = sbx::socket_pair();
    if (!pair) return pair.error();
    auto c = std::make_unique<Conn>();
    c->fd_ = std::move(pair->first);
    c->stream_ = std::make_unique<net::FdStream>(std::move(pair->second));
    c->proxy_thread_ = std::thread([&proxy, s = c->stream_.get()] {
      (void)proxy.handle(*s, net::ConnectionInfo{"bench", net::ConnectionKind::kForward, {}, 0});
    });
    if (auto w = sbx::write_all(
            c->fd_.get(), "CONNECT " + host + ":443 HTTP/1.1\r\nHost: " + host + ":443\r\n\r\n");
        !w)
      return w.error();
    std::string reply;
    char ch;
    while (reply.find("\r\n\r\n") == std::string::npos && ::read(c->fd_.get(), &ch, 1) == 1)
      reply += ch;
    if (reply.rfind("HTTP/1.1 200", 0) != 0) return sbx::err("CONNECT " + host + ": " + reply);
    c->ssl_ = SSL_new(ctx);
    SSL_set_tlsext_host_name(c->ssl_, host.c_str());
    SSL_set1_host(c->ssl_, host.c_str());
    SSL_set_fd(c->ssl_, c->fd_.get());
    if (SSL_connect(c->ssl_) != 1) {
      ERR_clear_error();
      return sbx::err("TLS to " + host + " through the proxy failed verification or handshake");
    }
    c->host_ = host;
    return c;
  }

  /// GET `path`; checks 200 and a body of exactly `bytes`.
  Result<void> get(const std::string& path, uint64_t bytes) {
    std::string req = "GET " + path + " HTTP/1.1\r\nHost: " + host_ +
                      "\r\nx-api-key: " + net::kProxyManagedSentinel + "\r\n\r\n";
    if (SSL_write(ssl_, req.data(), static_cast<int>(req.size())) <= 0)
      return sbx::err("write " + path);
    std::string head;
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos)
      if (!fill()) return sbx::err(path + ": connection closed before the response head");
    head = buf_.substr(0, end + 4);
    buf_.erase(0, end + 4);
    if (head.rfind("HTTP/1.1 200", 0) != 0) return sbx::err(path + ": " + head.substr(0, 200));
    auto cl = head.find("Content-Length: ");
    if (cl == std::string::npos) return sbx::err(path + ": no Content-Length");
    uint64_t length = std::stoull(head.substr(cl + 16));
    if (length != bytes)
      return sbx::err(path + ": " + std::to_string(length) + " bytes, expected " +
                      std::to_string(bytes));
    uint64_t got = 0;
    while (got < length) {
      if (buf_.empty() && !fill()) return sbx::err(path + ": body cut short");
      size_t n = static_cast<size_t>(std::min<uint64_t>(length - got, buf_.size()));
      buf_.erase(0, n);
      got += n;
    }
    return sbx::ok();
  }

 private:
  bool fill() {
    char tmp[65536];
    int n = SSL_read(ssl_, tmp, sizeof tmp);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }

  sbx::Fd fd_;
  std::unique_ptr<net::FdStream> stream_;
  std::thread proxy_thread_;
  SSL* ssl_ = nullptr;
  std::string host_;
  std::string buf_;
};

/// One run's figures for one path.
struct PathRun {
  double keep_p50 = 0, keep_p99 = 0, new_p50 = 0, new_p99 = 0, mbps = 0;
};

struct PathSeries {
  std::vector<double> keep_p50, keep_p99, new_p50, new_p99, mbps;
  void add(const PathRun& r) {
    keep_p50.push_back(r.keep_p50);
    keep_p99.push_back(r.keep_p99);
    new_p50.push_back(r.new_p50);
    new_p99.push_back(r.new_p99);
    mbps.push_back(r.mbps);
  }
};

Result<PathRun> run_path(net::EgressProxy& proxy, SSL_CTX* ctx, const std::string& host) {
  PathRun r;
  std::vector<double> ms;
  {
    auto c = Conn::open(proxy, ctx, host);
    if (!c) return c.error();
    for (int i = 0; i < kKeepAliveRequests; ++i) {
      b::Stopwatch sw;
      if (auto g = (*c)->get("/small", b::HttpFiles::kSmallBytes); !g) return g.error();
      ms.push_back(sw.millis());
    }
  }
  r.keep_p50 = b::quantile(ms, 0.5);
  r.keep_p99 = b::quantile(ms, 0.99);
  ms.clear();
  for (int i = 0; i < kNewConnections; ++i) {
    b::Stopwatch sw;
    auto c = Conn::open(proxy, ctx, host);
    if (!c) return c.error();
    if (auto g = (*c)->get("/small", b::HttpFiles::kSmallBytes); !g) return g.error();
    ms.push_back(sw.millis());
  }
  r.new_p50 = b::quantile(ms, 0.5);
  r.new_p99 = b::quantile(ms, 0.99);
  auto c = Conn::open(proxy, ctx, host);
  if (!c) return c.error();
  b::Stopwatch sw;
  if (auto g = (*c)->get("/big", kBigBytes); !g) return g.error();
  r.mbps = static_cast<double>(kBigBytes) / (1 << 20) / (sw.millis() / 1000.0);
  return r;
}

void print_row(const char* name, const PathSeries& s) {
  printf("%-12s %-22s %-22s %-22s %-22s %-18s\n", name,
         b::median_range(b::summarize(s.keep_p50), 3).c_str(),
         b::median_range(b::summarize(s.keep_p99), 3).c_str(),
         b::median_range(b::summarize(s.new_p50), 3).c_str(),
         b::median_range(b::summarize(s.new_p99), 3).c_str(),
         b::median_range(b::summarize(s.mbps), 0).c_str());
}

Result<void> run(const b::Options& o, const b::Machine& m) {
  std::string big_response = t::FakeHttpsUpstream::response("200 OK", "application/octet-stream",
                                                            std::string(kBigBytes, 'x'));
  std::string small_response = t::FakeHttpsUpstream::response("200 OK", "text/plain", "ok\n");
  t::FakeHttpsUpstream upstream([&](const t::UpstreamRequest& req) {
    return req.path == "/big" ? big_response : small_response;
  });
  if (!upstream.ok()) return sbx::err("cannot start the fake upstream");

  auto dir = sbx::TempDir::create("intercept-bench");
  if (!dir) return dir.error();
  auto ca = net::CertAuthority::load_or_create(dir->path() + "/ca");
  if (!ca) return ca.error().wrap("sbx CA");
  net::InterceptOptions io;
  io.upstream_ca_file = upstream.ca_file();
  auto interceptor = net::TlsInterceptor::create(**ca, io);
  if (!interceptor) return interceptor.error();

  std::vector<net::Rule> rules;
  int64_t id = 1;
  for (const char* h : {kIntercepted, kRelayed}) {
    auto res = net::parse_resource(h);
    if (!res) return res.error();
    rules.push_back(net::Rule{id++, "", net::Action::kAllow, *res});
  }
  auto policy =
      std::make_shared<const net::Policy>(net::make_policy(net::Preset::kDenyAll, {}, rules));
  BenchCredentials creds;
  net::EgressOptions opts;
  opts.credentials = &creds;
  opts.interceptor = interceptor->get();
  std::string to = "=127.0.0.1:" + std::to_string(upstream.port());
  auto ov = net::parse_upstream_overrides(std::string(kIntercepted) + ":443" + to + "," + kRelayed +
                                          ":443" + to);
  if (!ov) return ov.error();
  opts.upstream_override = *ov;
  net::StaticResolver resolver;
  net::UpstreamConnector connector(net::ProxySettings{}, resolver);
  net::EgressProxy proxy([&] { return policy; }, resolver, connector, nullptr, opts);

  // The client trusts both chains: the sbx CA (intercepted) and the
  // upstream's own (relayed), as a guest's store would.
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                        SSL_CTX_free);
  if (SSL_CTX_load_verify_locations(ctx.get(), (*ca)->ca_cert_path().c_str(), nullptr) != 1 ||
      SSL_CTX_load_verify_locations(ctx.get(), upstream.ca_file().c_str(), nullptr) != 1)
    return sbx::err("cannot load the CA files");
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);

  PathSeries relayed, intercepted;
  for (int i = 0; i < o.runs; ++i) {
    for (auto [host, series] :
         {std::pair{kRelayed, &relayed}, std::pair{kIntercepted, &intercepted}}) {
      auto r = run_path(proxy, ctx.get(), host);
      if (!r) return r.error().wrap(std::string(host) + ", run " + std::to_string(i + 1));
      series->add(*r);
    }
  }

  // The paths were what they claim: the key on every intercepted request,
  // on no relayed one; one leaf minted, then cached.
  size_t with_key = 0, without = 0;
  for (const auto& req : upstream.requests()) {
    bool key = req.header("x-api-key") == kKey;
    if (req.sni == kIntercepted && key) ++with_key;
    if (req.sni == kRelayed && req.header("x-api-key") == net::kProxyManagedSentinel) ++without;
  }
  size_t per_path = static_cast<size_t>(o.runs) * (kKeepAliveRequests + kNewConnections + 1);
  if (with_key != per_path || without != per_path)
    return sbx::err("the upstream saw the key on " + std::to_string(with_key) +
                    " intercepted and the sentinel on " + std::to_string(without) +
                    " relayed requests; expected " + std::to_string(per_path) + " each");
  if ((*ca)->minted() != 1)
    return sbx::err("the sbx CA minted " + std::to_string((*ca)->minted()) + " leaves, expected 1");

  printf(
      "intercept_bench: HTTPS through net::EgressProxy in-process (host side, no VM), "
      "%d kept-alive GETs, %d new-connection GETs, 64 MiB once per path and run; "
      "%d runs; median [min-max] of the runs\n",
      kKeepAliveRequests, kNewConnections, o.runs);
  b::print_machine(m);
  printf("\n%-12s %-22s %-22s %-22s %-22s %-18s\n", "path", "keep-alive p50 ms",
         "keep-alive p99 ms", "new conn p50 ms", "new conn p99 ms", "64 MiB MiB/s");
  print_row("relayed", relayed);
  print_row("intercepted", intercepted);
  auto med = [](const std::vector<double>& v) { return b::summarize(v).median; };
  printf(
      "\nadded by interception (medians): keep-alive p50 %+.3f ms, p99 %+.3f ms; "
      "new connection p50 %+.3f ms, p99 %+.3f ms; throughput %.2fx\n",
      med(intercepted.keep_p50) - med(relayed.keep_p50),
      med(intercepted.keep_p99) - med(relayed.keep_p99),
      med(intercepted.new_p50) - med(relayed.new_p50),
      med(intercepted.new_p99) - med(relayed.new_p99), med(intercepted.mbps) / med(relayed.mbps));
  printf("(the upstream builds each response in memory; both paths pay it)\n");
  return sbx::ok();
}

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);  // as sandboxd does: a closed peer is EPIPE
  auto o = b::parse_options(argc, argv,
                            "TLS interception cost: intercepted vs relayed HTTPS, host side");
  if (!o) return fprintf(stderr, "%s\n", o.error().message.c_str()), 2;
  auto m = b::describe_machine();
  if (!m) return fprintf(stderr, "intercept_bench: %s\n", m.error().message.c_str()), 1;
  auto r = run(*o, *m);
  if (!r) return fprintf(stderr, "intercept_bench: FAILED: %s\n", r.error().message.c_str()), 1;
  return 0;
}
