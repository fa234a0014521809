// What every benchmark shares: a stopwatch, repeated runs and their
// statistics (median and spread), a description of the machine and the
// accelerator, and checked HTTP measurements (servers on the host or in a
// guest, curl through tests/harness/guest_curl). One place, so every bench
// measures and reports the same way.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "base/child_process.h"
#include "base/files.h"
#include "base/result.h"
#include "harness/guest_curl.h"
#include "harness/harness.h"

namespace sbx::bench {

/// Wall time on the steady clock since construction.
class Stopwatch {
 public:
  Stopwatch() : t0_(std::chrono::steady_clock::now()) {}
  /// Seconds elapsed.
  double seconds() const;
  /// Milliseconds elapsed.
  double millis() const { return seconds() * 1000.0; }

 private:
  std::chrono::steady_clock::time_point t0_;
};

/// The p-th quantile (0..1) of `v`, interpolated linearly between the
/// closest ranks; 0 for an empty `v`.
double quantile(std::vector<double> v, double p);

/// Median and spread of a set of samples.
struct Summary {
  size_t n = 0;
  double median = 0, min = 0, max = 0, p10 = 0, p90 = 0;
};
/// Summarises `samples` (all zero when empty).
Summary summarize(const std::vector<double>& samples);
/// "median [min-max]" with `decimals` digits after the point.
std::string median_range(const Summary& s, int decimals);

/// Command-line settings common to the benchmarks.
struct Options {
  /// How many times each measurement is repeated.
  int runs = 5;
};
/// Parses `--runs N` (or `--runs=N`); without it SBX_BENCH_RUNS, else
/// `default_runs`. `--help` and unknown arguments are errors whose message
/// is the usage text.
Result<Options> parse_options(int argc, char** argv, const std::string& what, int default_runs = 5);

/// The machine a benchmark ran on, and the accelerator sbx picks there.
struct Machine {
  int cores = 0;
  std::string cpu_model;
  uint64_t memory_bytes = 0;
  std::string kernel;
  std::string load_average;  ///< 1, 5 and 15 minute load when described
  std::string accel;         ///< "kvm" or "tcg", as the daemon would choose
  std::string accel_source;  ///< why: "SBX_ACCEL=..." or "auto (...)"
};
/// Describes this host; the accelerator is chosen as sandboxd chooses it
/// (vm::choose_accel with SBX_ACCEL, else auto-detection).
Result<Machine> describe_machine();
/// Prints `m` as two header lines (machine, accelerator) plus the time.
void print_machine(const Machine& m);

/// The accelerator ("kvm"/"tcg") on the command line of the QEMU process
/// running under `env`; an error unless exactly one such process runs.
Result<std::string> running_accel(const testing::SbxEnv& env);

/// A free TCP port on 127.0.0.1 (bound, then released).
Result<uint16_t> free_loopback_port();

/// The two files the HTTP benchmarks serve: /big (random bytes) and /small.
struct HttpFiles {
  uint64_t big_bytes = 64ULL << 20;
  /// /small holds "ok\n".
  static constexpr uint64_t kSmallBytes = 3;
};

/// python3 -m http.server on the host's loopback, serving HttpFiles from its
/// own temp directory; stopped (killed) on destruction.
class HostHttpServer {
 public:
  /// Writes the files, starts the server and waits (20 s at most) until it
  /// answers a checked GET.
  static Result<HostHttpServer> start(const HttpFiles& files);
  uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  HostHttpServer(TempDir dir, ChildProcess child, uint16_t port)
      : dir_(std::move(dir)), child_(std::move(child)), port_(port) {}
  TempDir dir_;
  ChildProcess child_;
  uint16_t port_ = 0;
};

/// Starts python3 -m http.server on the guest's 127.0.0.1:`port` in
/// `sandbox`, serving HttpFiles from the guest's own disk (/tmp/www, not the
/// workspace share), and waits (60 s at most) until curl in the guest gets
/// /small from it.
Result<void> start_guest_http_server(const std::string& sandbox, uint16_t port,
                                     const HttpFiles& files);

/// One run of an HTTP path: one download of /big and a batch of small GETs.
struct HttpRun {
  double mbps = 0;    ///< MiB per second of the /big download
  double p50_ms = 0;  ///< median latency of the small GETs
  double p95_ms = 0;
};
/// `big_s` seconds for `big_bytes` and the small GETs' latencies, as a run.
HttpRun http_run(double big_s, uint64_t big_bytes, const std::vector<double>& small_ms);

/// Every run of one HTTP path.
struct HttpSeries {
  std::vector<double> mbps, p50_ms, p95_ms;
  void add(const HttpRun& r);
};

/// One run with curl at `site` against `base_url`: /big once (checked for
/// files.big_bytes), then `requests` GETs of /small in one curl process.
Result<HttpRun> curl_http_run(const testing::CurlSite& site, const std::string& base_url,
                              const HttpFiles& files, int requests);

/// Prints the header of an HTTP table (path, MB/s, p50, p95 columns).
void print_http_header();
/// Prints one row: median [min-max] of each column over the runs.
void print_http_row(const std::string& path, const HttpSeries& s);
/// Prints `a` relative to `base` (ratios of the medians).
void print_http_ratio(const std::string& name, const HttpSeries& a, const HttpSeries& base);

}  // namespace sbx::bench
