#include "vm/tsc.h"

#include <time.h>
#include <x86intrin.h>

#include <algorithm>
#include <vector>

#include "base/files.h"
#include "base/strings.h"

namespace sbx::vm {

namespace {

uint64_t raw_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull +
         static_cast<uint64_t>(ts.tv_nsec);
}

// Reads the TSC and the clock together; brackets the clock read with two
// rdtsc and uses their midpoint so a preemption between them shows up as a
// wide bracket, which we then retry.
struct Sample {
  uint64_t tsc;
  uint64_t ns;
};

Sample sample() {
  Sample best{};
  uint64_t best_width = UINT64_MAX;
  for (int i = 0; i < 5; ++i) {
    uint64_t t0 = __rdtsc();
    uint64_t ns = raw_ns();
    uint64_t t1 = __rdtsc();
    if (t1 - t0 < best_width) {
      best_width = t1 - t0;
      best = {t0 + (t1 - t0) / 2, ns};
    }
  }
  return best;
}

}  // namespace

Result<uint64_t> check_tsc_khz(uint64_t khz) {
  if (khz < 100'000 || khz > 10'000'000)
    return err("TSC frequency " + std::to_string(khz) +
               " kHz is outside the plausible range 100 MHz-10 GHz");
  return khz;
}

Result<uint64_t> measure_tsc_khz(int rounds,
                                 std::chrono::milliseconds round_length) {
  if (rounds < 1) return err("measure_tsc_khz: rounds must be >= 1");
  std::vector<uint64_t> khz;
  const uint64_t want_ns =
      static_cast<uint64_t>(round_length.count()) * 1'000'000ull;
  for (int r = 0; r < rounds; ++r) {
    Sample a = sample();
    timespec req{static_cast<time_t>(want_ns / 1'000'000'000ull),
                 static_cast<long>(want_ns % 1'000'000'000ull)};
    while (nanosleep(&req, &req) != 0) {
    }
    Sample b = sample();
    if (b.ns <= a.ns || b.tsc <= a.tsc) continue;  // clock went odd: skip
    // cycles / ns * 1e6 = kHz
    khz.push_back(static_cast<uint64_t>(
        static_cast<double>(b.tsc - a.tsc) * 1e6 /
        static_cast<double>(b.ns - a.ns)));
  }
  if (khz.empty()) return err("measure_tsc_khz: no usable sample");
  std::sort(khz.begin(), khz.end());
  auto checked = check_tsc_khz(khz[khz.size() / 2]);
  if (!checked) return checked.error().wrap("measure host TSC");
  return checked;
}

Result<uint64_t> host_tsc_khz() {
  // Some kernels (with tsc_known_freq from CPUID) export the exact figure.
  auto sys = read_file("/sys/devices/system/cpu/cpu0/tsc_freq_khz");
  if (sys) {
    auto v = parse_uint(trim(*sys));
    if (v && check_tsc_khz(*v)) return *v;
  }
  return measure_tsc_khz();
}

}  // namespace sbx::vm
