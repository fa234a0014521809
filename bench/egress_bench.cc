// Egress proxy cost, measured side by side in one run against the same HTTP
// server on the host's loopback (python3 -m http.server):
//   direct        — a plain TCP connection from this process;
//   proxy core    — the same request through net::EgressProxy in this
//                   process (socketpair in, policy decision, relay out);
//   guest proxy   — curl in a real guest through the in-guest proxy port,
//                   the agent link and sandboxd (a CIDR rule allows the
//                   loopback server; nothing else is reachable).
// Prints MB/s for a 64 MiB download, p50/p95 of small requests, and ratios.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/child_process.h"
#include "base/fd.h"
#include "base/strings.h"
#include "harness/guest_curl.h"
#include "harness/harness.h"
#include "net/egress_proxy.h"
#include "net/policy.h"
#include "net/resolver.h"

namespace t = sbx::testing;
namespace net = sbx::net;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kRequests = 100;
constexpr double kBigMiB = 64;
constexpr uint16_t kServerPort = 18766;

using Numbers = t::HttpNumbers;

/// Sends `request` on `fd` and reads to EOF; returns the bytes after the head.
size_t exchange(int fd, const std::string& request) {
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size()))
    return 0;
  std::vector<char> buf(256 * 1024);
  std::string head;
  size_t body = 0;
  bool in_body = false;
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n <= 0) break;
    if (in_body) {
      body += static_cast<size_t>(n);
      continue;
    }
    head.append(buf.data(), static_cast<size_t>(n));
    auto e = head.find("\r\n\r\n");
    if (e != std::string::npos) {
      in_body = true;
      body = head.size() - e - 4;
    }
  }
  return body;
}

template <typename Connect>
Numbers measure(Connect connect, const std::string& target_prefix) {
  Numbers n;
  auto get = [&](const std::string& path) {
    auto fd = connect();
    if (!fd) return size_t{0};
    return exchange(fd->get(), "GET " + target_prefix + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
  };
  auto t0 = Clock::now();
  size_t got = get("/big");
  double s = std::chrono::duration<double>(Clock::now() - t0).count();
  if (got != static_cast<size_t>(kBigMiB * 1048576)) {
    fprintf(stderr, "download: got %zu bytes\n", got);
    return n;
  }
  n.mbps = kBigMiB / s;
  std::vector<double> lat;
  for (int i = 0; i < kRequests; ++i) {
    auto a = Clock::now();
    if (get("/small") == 0) fprintf(stderr, "small request failed\n");
    lat.push_back(std::chrono::duration<double, std::milli>(Clock::now() - a).count());
  }
  n.p50 = t::percentile(lat, 0.5);
  n.p95 = t::percentile(lat, 0.95);
  return n;
}

Numbers measure_guest() {
  std::string base = "http://127.0.0.1:" + std::to_string(kServerPort);
  // --noproxy '' overrides NO_PROXY's 127.0.0.1: the request must take the
  // proxy, whose CIDR rule is the only way to the host's loopback.
  auto c = t::guest_curl("ebench", base + "/big", base + "/small", kRequests, "--noproxy ''");
  if (c.download_s <= 0) fprintf(stderr, "guest download failed: %s\n", c.error.c_str());
  return t::http_numbers(c, kBigMiB);
}

void row(const char* name, const Numbers& n) {
  printf("%-46s %10.1f %10.2f %10.2f\n", name, n.mbps, n.p50, n.p95);
}

void ratios(const char* name, const Numbers& a, const Numbers& base) {
  if (base.mbps <= 0 || base.p50 <= 0 || a.mbps <= 0) return;
  printf("%-46s throughput %.2fx, p50 %.2fx (+%.2f ms), p95 %.2fx (+%.2f ms)\n", name,
         a.mbps / base.mbps, a.p50 / base.p50, a.p50 - base.p50, a.p95 / base.p95, a.p95 - base.p95);
}

}  // namespace

int main() {
  auto dir = sbx::TempDir::create("sbx-egress-bench");
  if (!dir) return 1;
  (void)sbx::run_checked({"sh", "-c", "head -c " + std::to_string(static_cast<long>(kBigMiB * 1048576)) +
                                          " /dev/urandom > " + dir->path() + "/big && echo ok > " +
                                          dir->path() + "/small"});
  sbx::SpawnOptions o;
  o.argv = {"python3", "-m", "http.server", std::to_string(kServerPort), "--bind", "127.0.0.1",
            "--directory", dir->path()};
  int devnull = ::open("/dev/null", O_WRONLY);
  o.stdout_fd = o.stderr_fd = devnull;
  auto server = sbx::ChildProcess::spawn(o);
  if (!server) return fprintf(stderr, "%s\n", server.error().message.c_str()), 1;
  for (int i = 0; i < 100 && !t::http_get(kServerPort, "/small").ok(); ++i) usleep(100000);

  auto loopback = net::parse_ip("127.0.0.1");
  if (!loopback) return 1;
  Numbers direct = measure(
      [&]() -> sbx::Result<sbx::Fd> {
        return net::connect_tcp(*loopback, kServerPort, std::chrono::seconds(5));
      },
      "");

  // The proxy core in-process: allow-all plus the CIDR rule loopback needs.
  auto res = net::parse_resource("127.0.0.1/32:" + std::to_string(kServerPort));
  if (!res) return fprintf(stderr, "%s\n", res.error().message.c_str()), 1;
  net::Rule rule;
  rule.id = 1;
  rule.resource = *res;
  auto policy = std::make_shared<const net::Policy>(
      net::make_policy(net::Preset::kAllowAll, {}, {rule}));
  net::SystemResolver resolver;
  net::UpstreamConnector connector(net::ProxySettings{}, resolver);
  net::EgressProxy proxy([&] { return policy; }, resolver, connector, nullptr);
  std::vector<std::thread> workers;
  Numbers core = measure(
      [&]() -> sbx::Result<sbx::Fd> {
        int sv[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
          return sbx::errno_error("socketpair");
        workers.emplace_back([&proxy, fd = sv[1]] {
          net::FdStream s{sbx::Fd(fd)};
          proxy.handle(s, {"bench", net::ConnectionKind::kForward, {}, 0});
        });
        return sbx::Fd(sv[0]);
      },
      "http://127.0.0.1:" + std::to_string(kServerPort));
  for (auto& w : workers) w.join();

  // The whole path from a real guest.
  t::SbxEnv env;
  Numbers guest;
  auto c = t::sbx({"create", "--name", "ebench", "--memory", "1g", "--cpus", "2", "shell",
                   env.make_workspace("egress-bench")});
  if (c.code != 0) {
    fprintf(stderr, "create failed: %s\n", c.all().c_str());
  } else {
    auto allow = t::sbx({"policy", "allow", "network", "--sandbox", "ebench",
                         "127.0.0.1/32:" + std::to_string(kServerPort)});
    if (allow.code != 0) fprintf(stderr, "%s\n", allow.all().c_str());
    guest = measure_guest();
  }

  printf("egress: the same loopback server (python3 http.server), 64 MiB and %d small GETs\n",
         kRequests);
  printf("%-46s %10s %10s %10s\n", "path", "MB/s", "p50 ms", "p95 ms");
  row("direct connection (host)", direct);
  row("through EgressProxy in-process (host)", core);
  row("guest -> agent link -> sandboxd proxy (TCG)", guest);
  ratios("proxy core / direct:", core, direct);
  ratios("guest proxy path / direct:", guest, direct);
  ::close(devnull);
  return 0;
}
