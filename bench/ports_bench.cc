// Published-port throughput and request latency, measured side by side in
// one run against the same HTTP server (python3 -m http.server in the guest):
//   direct   — curl inside the guest over the guest's own loopback;
//   through  — the host's client through the published port (agent link);
// plus, for scale, the same server software on the host's loopback.
// Prints MB/s for a 64 MiB download and p50/p95 latency of small requests.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "base/child_process.h"
#include "base/strings.h"
#include "harness/guest_curl.h"
#include "harness/harness.h"

namespace t = sbx::testing;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kRequests = 100;
constexpr double kBigMiB = 64;

using Numbers = t::HttpNumbers;

// Host-side client: our own HTTP/1.0 GET.
Numbers measure_host(uint16_t port) {
  Numbers n;
  auto t0 = Clock::now();
  auto big = t::http_get(port, "/big");
  double s = std::chrono::duration<double>(Clock::now() - t0).count();
  if (!big.ok() || big->size() != static_cast<size_t>(kBigMiB * 1048576)) {
    fprintf(stderr, "download failed: %s\n", big.ok() ? "short" : big.error().message.c_str());
    return n;
  }
  n.mbps = kBigMiB / s;
  std::vector<double> lat;
  for (int i = 0; i < kRequests; ++i) {
    auto a = Clock::now();
    auto r = t::http_get(port, "/small");
    lat.push_back(std::chrono::duration<double, std::milli>(Clock::now() - a).count());
    if (!r.ok()) fprintf(stderr, "request failed: %s\n", r.error().message.c_str());
  }
  n.p50 = t::percentile(lat, 0.5);
  n.p95 = t::percentile(lat, 0.95);
  return n;
}

// Guest-side client: curl over the guest's loopback, timed by curl itself.
Numbers measure_guest(int port) {
  std::string base = "http://127.0.0.1:" + std::to_string(port);
  auto c = t::guest_curl("bench", base + "/big", base + "/small", kRequests);
  if (c.download_s <= 0) fprintf(stderr, "guest download failed: %s\n", c.error.c_str());
  return t::http_numbers(c, kBigMiB);
}

}  // namespace

int main() {
  t::SbxEnv env;
  std::string ws = env.make_workspace("ports-bench");
  auto c = t::sbx({"create", "--name", "bench", "--memory", "1g", "--cpus", "2", "shell", ws});
  if (c.code != 0) return fprintf(stderr, "create failed: %s\n", c.all().c_str()), 1;
  // The guest serves from its own disk, so the workspace share is not measured.
  auto prep = t::sbx({"exec", "bench", "--", "sh", "-c",
                      "mkdir -p /tmp/www && cd /tmp/www && head -c " +
                          std::to_string(static_cast<long>(kBigMiB * 1048576)) +
                          " /dev/urandom > big && echo ok > small"});
  if (prep.code != 0) return fprintf(stderr, "%s\n", prep.all().c_str()), 1;
  (void)t::sbx({"exec", "-d", "bench", "--", "sh", "-c",
                "cd /tmp/www && exec python3 -m http.server 8000 --bind 127.0.0.1 >/dev/null 2>&1"});
  (void)t::sbx({"exec", "bench", "--", "sh", "-c",
                "for i in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:8000/small && exit 0; sleep 0.2; done"});
  auto pub = t::sbx({"ports", "bench", "--publish", "8000"});
  uint16_t port = t::published_port(pub.out);
  if (!port) return fprintf(stderr, "publish failed: %s\n", pub.all().c_str()), 1;

  // The same server software on the host's loopback, for scale.
  auto dir = sbx::TempDir::create("sbx-ports-bench");
  if (!dir) return 1;
  (void)sbx::run_checked({"sh", "-c", "head -c " + std::to_string(static_cast<long>(kBigMiB * 1048576)) +
                                          " /dev/urandom > " + dir->path() + "/big && echo ok > " +
                                          dir->path() + "/small"});
  sbx::SpawnOptions o;
  o.argv = {"python3", "-m", "http.server", "18765", "--bind", "127.0.0.1", "--directory", dir->path()};
  int devnull = ::open("/dev/null", O_WRONLY);
  o.stdout_fd = o.stderr_fd = devnull;
  auto host_server = sbx::ChildProcess::spawn(o);
  for (int i = 0; i < 100 && !t::http_get(18765, "/small").ok(); ++i) usleep(100000);

  Numbers direct = measure_guest(8000);
  Numbers through = measure_host(port);
  Numbers host = measure_host(18765);

  printf("published port vs direct loopback, same guest server (python3 http.server), TCG\n");
  printf("%-40s %10s %10s %10s\n", "path", "MB/s", "p50 ms", "p95 ms");
  printf("%-40s %10.1f %10.2f %10.2f\n", "guest loopback (curl in the guest)", direct.mbps, direct.p50, direct.p95);
  printf("%-40s %10.1f %10.2f %10.2f\n", "host -> published port -> guest", through.mbps, through.p50, through.p95);
  printf("%-40s %10.1f %10.2f %10.2f\n", "host loopback, server on the host", host.mbps, host.p50, host.p95);
  if (direct.mbps > 0 && direct.p50 > 0)
    printf("ratios published/direct: throughput %.2fx, p50 latency %.2fx\n", through.mbps / direct.mbps,
           through.p50 / direct.p50);
  ::close(devnull);
  return 0;
}
