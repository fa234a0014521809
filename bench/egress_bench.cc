// Egress proxy cost. Every ratio compares two paths measured by the same
// client, so the client's own cost cancels out:
//   curl on the host (native):
//     direct        host loopback -> python3 http.server on the host;
//     proxy core    the same, through net::EgressProxy in this process
//                   (curl -x to a loopback listener, policy decision, relay).
//   curl in the guest (emulated under TCG):
//     guest loopback  -> python3 http.server in the guest (no proxy);
//     proxy path      -> in-guest proxy port -> agent link -> sandboxd's
//                     proxy -> the host's server (a CIDR rule allows it).
// The guest pair differs in the server too (emulated in the guest, native
// on the host): the output says so. Every request is checked (HTTP 200,
// exact size); any failure, including the allow rule, exits 1.
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/fd.h"
#include "bench_util.h"
#include "net/egress_proxy.h"
#include "net/policy.h"
#include "net/resolver.h"

namespace t = sbx::testing;
namespace net = sbx::net;
namespace b = sbx::bench;
using sbx::Result;

namespace {

constexpr int kRequests = 100;

/// net::EgressProxy behind a TCP listener on the host's loopback, so the
/// host's curl can use it as its HTTP proxy (-x). One thread per connection,
/// like the daemon; all joined on destruction.
class LoopbackProxy {
 public:
  LoopbackProxy(net::EgressProxy& proxy, sbx::Fd listener, uint16_t port)
      : proxy_(proxy), listener_(std::move(listener)), port_(port) {
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~LoopbackProxy() {
    // shutdown() wakes the blocked accept(); connections end with curl's.
    ::shutdown(listener_.get(), SHUT_RDWR);
    acceptor_.join();
    for (auto& w : workers_) w.join();
  }
  uint16_t port() const { return port_; }
  /// Connections accepted so far.
  int accepted() const { return accepted_.load(); }

  static Result<std::unique_ptr<LoopbackProxy>> start(net::EgressProxy& proxy) {
    sbx::Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return sbx::errno_error("socket");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(fd.get(), 64) != 0 ||
        ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0)
      return sbx::errno_error("listen on 127.0.0.1");
    return std::make_unique<LoopbackProxy>(proxy, std::move(fd), ntohs(a.sin_port));
  }

 private:
  void accept_loop() {
    for (;;) {
      int c = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) {
        if (errno == EINTR) continue;
        return;  // shut down
      }
      ++accepted_;
      workers_.emplace_back([this, c] {
        net::FdStream s{sbx::Fd(c)};
        proxy_.handle(s, {"bench", net::ConnectionKind::kForward, {}, 0});
      });
    }
  }
  net::EgressProxy& proxy_;
  sbx::Fd listener_;
  uint16_t port_;
  std::atomic<int> accepted_{0};
  std::thread acceptor_;
  std::vector<std::thread> workers_;  // touched by the acceptor only until joined
};

Result<void> run(const b::Options& o, const b::Machine& m) {
  b::HttpFiles files;
  auto server = b::HostHttpServer::start(files);
  if (!server) return server.error().wrap("host server");

  // The proxy core in-process: allow-all plus the CIDR rule loopback needs
  // (the same rule the guest path gets below).
  std::string resource = "127.0.0.1/32:" + std::to_string(server->port());
  auto res = net::parse_resource(resource);
  if (!res) return res.error();
  net::Rule rule;
  rule.id = 1;
  rule.resource = *res;
  auto policy =
      std::make_shared<const net::Policy>(net::make_policy(net::Preset::kAllowAll, {}, {rule}));
  net::SystemResolver resolver;
  net::UpstreamConnector connector(net::ProxySettings{}, resolver);
  net::EgressProxy proxy([&] { return policy; }, resolver, connector, nullptr);
  auto listener = LoopbackProxy::start(proxy);
  if (!listener) return listener.error().wrap("in-process proxy");

  // A real guest: the proxy path needs the allow rule, and its baseline a
  // server in the guest.
  t::SbxEnv env;
  auto c = t::sbx({"create", "--name", "ebench", "--memory", "1g", "--cpus", "2", "shell",
                   env.make_workspace("egress-bench")});
  if (c.code != 0) return sbx::err("sbx create: " + c.all());
  auto accel = b::running_accel(env);
  if (!accel) return accel.error();
  if (*accel != m.accel) return sbx::err("the sandbox runs on " + *accel + ", expected " + m.accel);
  auto allow = t::sbx({"policy", "allow", "network", "--sandbox", "ebench", resource});
  if (allow.code != 0) return sbx::err("sbx policy allow network " + resource + ": " + allow.all());
  auto guest_port = b::free_loopback_port();  // any number; it is the guest's loopback
  if (!guest_port) return guest_port.error();
  if (auto s = b::start_guest_http_server("ebench", *guest_port, files); !s)
    return s.error().wrap("guest server");

  t::CurlSite host_direct{"", {"--noproxy", "*"}};
  // --noproxy '': a NO_PROXY in the environment must not bypass -x.
  t::CurlSite host_proxy{
      "", {"--noproxy", "", "-x", "http://127.0.0.1:" + std::to_string((*listener)->port())}};
  t::CurlSite guest_direct{"ebench", {"--noproxy", "*"}};
  // --noproxy '' overrides NO_PROXY's 127.0.0.1: the request must take the
  // guest's proxy, whose CIDR rule is the only way to the host's loopback.
  t::CurlSite guest_proxy{"ebench", {"--noproxy", ""}};
  std::string guest_url = "http://127.0.0.1:" + std::to_string(*guest_port);

  b::HttpSeries direct, core, guest_lo, guest_path;
  // Interleaved, so a burst of load on this shared machine hits every path.
  for (int i = 0; i < o.runs; ++i) {
    struct Step {
      const char* name;
      const t::CurlSite& site;
      std::string url;
      b::HttpSeries& out;
    } steps[] = {{"host direct", host_direct, server->url(), direct},
                 {"host through EgressProxy", host_proxy, server->url(), core},
                 {"guest loopback", guest_direct, guest_url, guest_lo},
                 {"guest proxy path", guest_proxy, server->url(), guest_path}};
    for (auto& s : steps) {
      auto r = b::curl_http_run(s.site, s.url, files, kRequests);
      if (!r) return r.error().wrap(std::string(s.name) + ", run " + std::to_string(i + 1));
      s.out.add(*r);
    }
  }
  // Each GET is one connection (http.server closes after every response):
  // fewer would mean some requests bypassed the proxy under test.
  int expected = o.runs * (1 + kRequests);
  if ((*listener)->accepted() != expected)
    return sbx::err("the in-process proxy saw " + std::to_string((*listener)->accepted()) +
                    " connections, expected " + std::to_string(expected));

  printf(
      "egress_bench: python3 http.server, %llu MiB /big once + %d GETs of /small per run, "
      "%d runs; median [min-max]\n",
      static_cast<unsigned long long>(files.big_bytes >> 20), kRequests, o.runs);
  b::print_machine(m);
  printf("\nclient: curl on the host (native), timed by curl\n");
  b::print_http_header();
  b::print_http_row("host loopback -> host server", direct);
  b::print_http_row("-> EgressProxy in-process -> host server", core);
  b::print_http_ratio("proxy core / direct:", core, direct);
  printf("\nclient: curl in the guest (%s), timed by curl\n", m.accel.c_str());
  b::print_http_header();
  b::print_http_row("guest loopback -> guest server", guest_lo);
  b::print_http_row("guest proxy -> agent link -> sandboxd -> host", guest_path);
  b::print_http_ratio("proxy path / guest loopback:", guest_path, guest_lo);
  printf(
      "(the guest pair also differs in the server: in the guest under %s vs native on the "
      "host)\n",
      m.accel.c_str());
  return sbx::ok();
}

}  // namespace

int main(int argc, char** argv) {
  auto o =
      b::parse_options(argc, argv, "egress proxy cost: host and guest curl, direct vs proxied");
  if (!o) return fprintf(stderr, "%s\n", o.error().message.c_str()), 2;
  auto m = b::describe_machine();
  if (!m) return fprintf(stderr, "egress_bench: %s\n", m.error().message.c_str()), 1;
  auto r = run(*o, *m);
  if (!r) return fprintf(stderr, "egress_bench: FAILED: %s\n", r.error().message.c_str()), 1;
  return 0;
}
