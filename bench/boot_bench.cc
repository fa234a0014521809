// Boot and exec benchmark, measured side by side in one run:
//   1. a raw QEMU boot of the same kernel to a trivial init (the VMM floor);
//   2. `sbx create` + the first `sbx exec true` (what a user waits for);
//   3. the round trip of `sbx exec true` on a running sandbox (p50, p95).
// Prints seconds and ratios. Needs the guest kernel and template cached
// (the e2e tests or one `sbx create` build them).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "base/child_process.h"
#include "base/files.h"
#include "base/paths.h"
#include "harness/harness.h"
#include "image/cpio_writer.h"
#include "image/kernel.h"
#include "vm/tsc.h"

using namespace sbx;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

int env_int(const char* name, int def) {
  const char* v = getenv(name);
  return v ? atoi(v) : def;
}

}  // namespace

int main() {
  const int boots = env_int("SBX_BENCH_BOOTS", 5);
  const int execs = env_int("SBX_BENCH_EXECS", 30);
  auto paths = Paths::from_environment();
  if (!paths) return fprintf(stderr, "%s\n", paths.error().message.c_str()), 1;
  auto kernel = image::ensure_kernel(paths->cache, [](const std::string& m) {
    fprintf(stderr, "%s\n", m.c_str());
  });
  if (!kernel) return fprintf(stderr, "kernel: %s\n", kernel.error().message.c_str()), 1;
  auto tsc = vm::host_tsc_khz();
  if (!tsc) return fprintf(stderr, "tsc: %s\n", tsc.error().message.c_str()), 1;

  auto tmp = TempDir::create("sbx-bench");
  if (!tmp) return 1;
  std::string cpio = tmp->path() + "/trivial.cpio";
  {
    auto w = image::CpioWriter::create(cpio);
    if (!w) return fprintf(stderr, "%s\n", w.error().message.c_str()), 1;
    (void)w->add_dir("/dev");
    (void)w->add_char_device("/dev/console", 0600, 5, 1);
    auto a = w->add_file_from("/init", SBX_TRIVIAL_INIT, 0755);
    if (!a) return fprintf(stderr, "%s\n", a.error().message.c_str()), 1;
    if (auto f = w->finish(); !f) return fprintf(stderr, "%s\n", f.error().message.c_str()), 1;
  }

  // 1. Raw QEMU: same machine type, kernel, memory and accelerator as sbx.
  std::vector<double> raw;
  for (int i = 0; i < boots; ++i) {
    auto t0 = Clock::now();
    // timeout: a hung boot is reported, never waited on for ever. The
    // command line is sbx's, less its own sbx.* settings.
    auto r = run_command({"timeout", "120", "qemu-system-x86_64", "-M", "microvm,accel=tcg", "-cpu", "max", "-m",
                          "1024", "-smp", "2", "-nodefaults", "-no-user-config", "-nographic",
                          "-no-reboot", "-serial", "stdio", "-kernel", kernel->vmlinux, "-initrd",
                          cpio, "-append",
                          "console=ttyS0 panic=-1 quiet tsc=reliable tsc_early_khz=" + std::to_string(*tsc)});
    double s = seconds_since(t0);
    if (!r || r->output.find("trivial-init: up") == std::string::npos) {
      fprintf(stderr, "raw boot failed: %s\n", r ? r->output.c_str() : r.error().message.c_str());
      return 1;
    }
    raw.push_back(s);
  }

  // 2. sbx create + first exec, in an isolated state directory.
  testing::SbxEnv env;
  std::string ws = env.make_workspace("bench-ws");
  std::vector<double> cold;
  for (int i = 0; i < boots; ++i) {
    auto t0 = Clock::now();
    auto c = testing::sbx({"create", "--name", "bench", "--memory", "1g", "--cpus", "2", "shell", ws});
    auto e = testing::sbx({"exec", "bench", "--", "true"});
    double s = seconds_since(t0);
    if (c.code != 0 || e.code != 0) {
      fprintf(stderr, "sbx create/exec failed:\n%s%s\n", c.all().c_str(), e.all().c_str());
      return 1;
    }
    cold.push_back(s);
    if (i + 1 < boots) (void)testing::sbx({"rm", "-f", "bench"});
  }

  // 3. exec round trips on the running sandbox.
  std::vector<double> rt;
  for (int i = 0; i < execs; ++i) {
    auto t0 = Clock::now();
    auto e = testing::sbx({"exec", "bench", "--", "true"});
    rt.push_back(seconds_since(t0) * 1000.0);
    if (e.code != 0) return fprintf(stderr, "exec failed: %s\n", e.all().c_str()), 1;
  }

  double raw_med = percentile(raw, 0.5), cold_med = percentile(cold, 0.5);
  printf("boot (TCG, 2 vCPU, 1 GiB, kernel %s), median of %d:\n", kernel->version.c_str(), boots);
  printf("  raw QEMU boot to trivial init and exit : %6.2f s\n", raw_med);
  printf("  sbx create + first sbx exec true       : %6.2f s\n", cold_med);
  printf("  ratio sbx / raw                        : %6.2f x\n", cold_med / raw_med);
  printf("sbx exec true round trip, %d runs:\n", execs);
  printf("  p50 %.1f ms   p95 %.1f ms\n", percentile(rt, 0.5), percentile(rt, 0.95));
  return 0;
}
