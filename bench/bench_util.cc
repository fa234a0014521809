#include "bench_util.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <thread>

#include "base/fd.h"
#include "base/strings.h"
#include "vm/accel.h"

namespace sbx::bench {

namespace t = sbx::testing;

double Stopwatch::seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
}

double quantile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  double pos = std::clamp(p, 0.0, 1.0) * static_cast<double>(v.size() - 1);
  size_t lo = static_cast<size_t>(std::floor(pos));
  size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

Summary summarize(const std::vector<double>& samples) {
  Summary s;
  if (samples.empty()) return s;
  s.n = samples.size();
  s.median = quantile(samples, 0.5);
  s.p10 = quantile(samples, 0.1);
  s.p90 = quantile(samples, 0.9);
  s.min = *std::min_element(samples.begin(), samples.end());
  s.max = *std::max_element(samples.begin(), samples.end());
  return s;
}

std::string median_range(const Summary& s, int decimals) {
  char buf[96];
  snprintf(buf, sizeof buf, "%.*f [%.*f-%.*f]", decimals, s.median, decimals, s.min, decimals,
           s.max);
  return buf;
}

Result<Options> parse_options(int argc, char** argv, const std::string& what, int default_runs) {
  std::string usage = "usage: " + std::string(argc > 0 ? argv[0] : "bench") + " [--runs N]\n  " +
                      what + "\n  --runs N  repeat each measurement N times (default " +
                      std::to_string(default_runs) + ", or SBX_BENCH_RUNS)";
  Options o;
  o.runs = default_runs;
  std::string runs;
  if (const char* e = getenv("SBX_BENCH_RUNS")) runs = e;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--runs" && i + 1 < argc) {
      runs = argv[++i];
    } else if (starts_with(a, "--runs=")) {
      runs = a.substr(7);
    } else {
      return err(usage);
    }
  }
  if (!runs.empty()) {
    auto n = parse_uint(runs);
    if (!n || *n == 0 || *n > 1000) return err("--runs: expected 1..1000, got '" + runs + "'");
    o.runs = static_cast<int>(*n);
  }
  return o;
}

Result<Machine> describe_machine() {
  Machine m;
  m.cores = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  auto cpuinfo = read_file("/proc/cpuinfo");
  if (!cpuinfo) return cpuinfo.error();
  for (auto& line : split(*cpuinfo, '\n')) {
    if (!starts_with(line, "model name")) continue;
    m.cpu_model = trim(line.substr(line.find(':') + 1));
    break;
  }
  auto meminfo = read_file("/proc/meminfo");
  if (!meminfo) return meminfo.error();
  for (auto& line : split(*meminfo, '\n')) {
    if (!starts_with(line, "MemTotal:")) continue;
    auto kb = parse_uint(trim(line.substr(9, line.rfind("kB") - 9)));
    if (kb) m.memory_bytes = *kb * 1024;
  }
  utsname u{};
  if (::uname(&u) == 0) m.kernel = std::string(u.sysname) + " " + u.release;
  auto load = read_file("/proc/loadavg");
  if (load) {
    auto f = split(trim(*load), ' ');
    if (f.size() >= 3) m.load_average = f[0] + " " + f[1] + " " + f[2];
  }
  const char* req = getenv("SBX_ACCEL");
  auto probe = vm::probe_host();
  auto accel = vm::choose_accel(req ? req : "", probe);
  if (!accel) return accel.error().wrap("accelerator");
  m.accel = std::string(vm::accel_name(*accel));
  if (req && *req)
    m.accel_source = "SBX_ACCEL=" + std::string(req);
  else
    m.accel_source = std::string("auto: /dev/kvm ") + (probe.kvm_usable ? "usable" : "not usable") +
                     ", vmx/svm " + (probe.cpu_has_vmx_or_svm ? "present" : "absent");
  return m;
}

void print_machine(const Machine& m) {
  char when[32] = "";
  std::time_t now = std::time(nullptr);
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  printf("machine: %d cores, %s, %.1f GiB RAM, %s; load average %s; %s\n", m.cores,
         m.cpu_model.c_str(), static_cast<double>(m.memory_bytes) / (1ULL << 30), m.kernel.c_str(),
         m.load_average.c_str(), when);
  printf("accelerator: %s (%s)\n", m.accel.c_str(), m.accel_source.c_str());
}

Result<std::string> running_accel(const testing::SbxEnv& env) {
  auto pids = t::qemu_pids_matching(env.root());
  if (pids.size() != 1)
    return err("expected one QEMU process under " + env.root() + ", found " +
               std::to_string(pids.size()));
  auto cmd = read_file("/proc/" + std::to_string(pids[0]) + "/cmdline");
  if (!cmd) return cmd.error();
  for (auto& arg : split(*cmd, '\0')) {
    auto at = arg.find("accel=");
    if (at == std::string::npos) continue;
    return arg.substr(at + 6, arg.find(',', at) == std::string::npos ? std::string::npos
                                                                     : arg.find(',', at) - at - 6);
  }
  return err("no accel= on the QEMU command line");
}

Result<uint16_t> free_loopback_port() {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return errno_error("socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
    return errno_error("bind 127.0.0.1:0");
  socklen_t len = sizeof a;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0)
    return errno_error("getsockname");
  return static_cast<uint16_t>(ntohs(a.sin_port));
}

namespace {

/// Shell commands that write HttpFiles into the current directory.
std::string write_files_script(const HttpFiles& files) {
  return "head -c " + std::to_string(files.big_bytes) + " /dev/urandom > big && echo ok > small";
}

}  // namespace

Result<HostHttpServer> HostHttpServer::start(const HttpFiles& files) {
  auto dir = TempDir::create("sbx-bench-www");
  if (!dir) return dir.error();
  auto w = run_checked({"sh", "-c", write_files_script(files)}, dir->path());
  if (!w) return w.error().wrap("write the served files");
  auto port = free_loopback_port();
  if (!port) return port.error();
  Fd devnull(::open("/dev/null", O_WRONLY | O_CLOEXEC));
  SpawnOptions o;
  o.argv = {"python3", "-m",        "http.server", std::to_string(*port),
            "--bind",  "127.0.0.1", "--directory", dir->path()};
  o.stdout_fd = o.stderr_fd = devnull.get();
  o.die_with_parent = true;
  auto child = ChildProcess::spawn(o);
  if (!child) return child.error().wrap("start python3 http.server");
  HostHttpServer s(std::move(*dir), std::move(*child), *port);
  // Ready when a checked GET succeeds; the deadline turns a dead server into
  // an error instead of a hang.
  t::CurlSite host{"", {"--noproxy", "*"}};
  Stopwatch w0;
  for (;;) {
    auto r = t::checked_curl(host, {{s.url() + "/small", HttpFiles::kSmallBytes}});
    if (r) return s;
    if (auto st = s.child_.poll(); st && *st) return err("host http.server exited at start");
    if (w0.seconds() > 20) return r.error().wrap("host http.server not ready after 20 s");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

Result<void> start_guest_http_server(const std::string& sandbox, uint16_t port,
                                     const HttpFiles& files) {
  auto prep = t::sbx({"exec", sandbox, "--", "sh", "-c",
                      "mkdir -p /tmp/www && cd /tmp/www && " + write_files_script(files)});
  if (prep.code != 0) return err("write the served files in the guest: " + prep.all());
  auto start = t::sbx({"exec", "-d", sandbox, "--", "sh", "-c",
                       "cd /tmp/www && exec python3 -m http.server " + std::to_string(port) +
                           " --bind 127.0.0.1 >/dev/null 2>&1"});
  if (start.code != 0) return err("start http.server in the guest: " + start.all());
  t::CurlSite guest{sandbox, {"--noproxy", "*"}};
  std::string url = "http://127.0.0.1:" + std::to_string(port) + "/small";
  Stopwatch w0;
  for (;;) {
    auto r = t::checked_curl(guest, {{url, HttpFiles::kSmallBytes}});
    if (r) return ok();
    if (w0.seconds() > 60) return r.error().wrap("guest http.server not ready after 60 s");
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

HttpRun http_run(double big_s, uint64_t big_bytes, const std::vector<double>& small_ms) {
  HttpRun r;
  r.mbps = big_s > 0 ? static_cast<double>(big_bytes) / (1 << 20) / big_s : 0;
  r.p50_ms = quantile(small_ms, 0.5);
  r.p95_ms = quantile(small_ms, 0.95);
  return r;
}

void HttpSeries::add(const HttpRun& r) {
  mbps.push_back(r.mbps);
  p50_ms.push_back(r.p50_ms);
  p95_ms.push_back(r.p95_ms);
}

Result<HttpRun> curl_http_run(const testing::CurlSite& site, const std::string& base_url,
                              const HttpFiles& files, int requests) {
  auto big = t::checked_curl(site, {{base_url + "/big", files.big_bytes}});
  if (!big) return big.error();
  std::vector<t::CurlGet> smalls(static_cast<size_t>(requests),
                                 t::CurlGet{base_url + "/small", HttpFiles::kSmallBytes});
  auto small = t::checked_curl(site, smalls);
  if (!small) return small.error();
  std::vector<double> ms;
  for (double s : *small) ms.push_back(s * 1000.0);
  return http_run(big->front(), files.big_bytes, ms);
}

void print_http_header() {
  printf("%-48s %-22s %-22s %-22s\n", "path", "MiB/s", "p50 ms", "p95 ms");
}

void print_http_row(const std::string& path, const HttpSeries& s) {
  printf("%-48s %-22s %-22s %-22s\n", path.c_str(), median_range(summarize(s.mbps), 1).c_str(),
         median_range(summarize(s.p50_ms), 2).c_str(),
         median_range(summarize(s.p95_ms), 2).c_str());
}

void print_http_ratio(const std::string& name, const HttpSeries& a, const HttpSeries& base) {
  auto am = summarize(a.mbps), bm = summarize(base.mbps);
  auto a50 = summarize(a.p50_ms), b50 = summarize(base.p50_ms);
  auto a95 = summarize(a.p95_ms), b95 = summarize(base.p95_ms);
  printf("%s throughput %.2fx, p50 %.2fx (%+.2f ms), p95 %.2fx (%+.2f ms)\n", name.c_str(),
         am.median / bm.median, a50.median / b50.median, a50.median - b50.median,
         a95.median / b95.median, a95.median - b95.median);
}

}  // namespace sbx::bench
