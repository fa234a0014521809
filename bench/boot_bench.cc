// Boot and exec benchmark. Both boots are timed to the same event, the first
// guest userspace program's answer reaching the host, and neither includes
// shutting the VM down:
//   raw    QEMU with sbx's machine, accelerator, CPU model, memory, vCPUs,
//          kernel and kernel command line, booting a trivial init that
//          writes one console line (timed until the host reads that line;
//          the init then reboots, which ends QEMU, untimed);
//   sbx    `sbx create` + the first `sbx exec true` (timed until exec's
//          exit status is back; `sbx rm` afterwards is untimed).
// Plus the round trip of `sbx exec true` on a running sandbox. The
// accelerator is the one sbx picks (src/vm/accel: SBX_ACCEL, else auto), and
// the sandbox's QEMU is checked to run on it. Needs the guest kernel and
// template cached (one `sbx create` or the e2e tests build them).
#include <fcntl.h>
#include <poll.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "base/child_process.h"
#include "base/fd.h"
#include "base/files.h"
#include "base/paths.h"
#include "bench_util.h"
#include "image/cpio_writer.h"
#include "image/kernel.h"
#include "vm/qemu_command.h"
#include "vm/tsc.h"

namespace t = sbx::testing;
namespace b = sbx::bench;
using sbx::Result;

namespace {

constexpr const char* kMarker = "trivial-init: up";
constexpr double kBootDeadlineS = 120;

/// Writes the initramfs holding only the trivial init.
Result<std::string> write_trivial_cpio(const std::string& dir) {
  std::string cpio = dir + "/trivial.cpio";
  auto w = sbx::image::CpioWriter::create(cpio);
  if (!w) return w.error();
  if (auto r = w->add_dir("/dev"); !r) return r.error();
  if (auto r = w->add_char_device("/dev/console", 0600, 5, 1); !r) return r.error();
  if (auto r = w->add_file_from("/init", SBX_TRIVIAL_INIT, 0755); !r) return r.error();
  if (auto r = w->finish(); !r) return r.error();
  return cpio;
}

/// Runs `argv` (QEMU) and returns the seconds from spawning it until the
/// host reads kMarker on its serial console. QEMU's exit (the init reboots,
/// -no-reboot ends QEMU) is waited for but not timed.
Result<double> raw_boot(const std::vector<std::string>& argv) {
  auto out = sbx::make_pipe();
  if (!out) return out.error();
  sbx::Fd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  sbx::SpawnOptions o;
  o.argv = argv;
  o.stdin_fd = devnull.get();
  o.stdout_fd = o.stderr_fd = out->second.get();
  o.die_with_parent = true;
  b::Stopwatch sw;
  auto child = sbx::ChildProcess::spawn(o);
  if (!child) return child.error().wrap("start QEMU");
  out->second.reset();
  std::string seen;
  double at = -1;
  while (at < 0) {
    double left = kBootDeadlineS - sw.seconds();
    if (left <= 0) return sbx::err("no '" + std::string(kMarker) + "' within 120 s: " + seen);
    pollfd p{out->first.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left * 1000) + 1) <= 0) continue;
    auto r = sbx::read_some(out->first.get(), 65536);
    if (!r) return r.error().wrap("read QEMU's console");
    if (r->empty()) return sbx::err("QEMU ended before the init was up: " + seen);
    seen += *r;
    if (seen.find(kMarker) != std::string::npos) at = sw.seconds();
  }
  auto st = child->wait_for(std::chrono::seconds(30));
  if (!st) return st.error();
  if (!*st) return sbx::err("QEMU still running 30 s after the init rebooted");
  return at;
}

Result<void> run(const b::Options& o, const b::Machine& m, int execs) {
  auto paths = sbx::Paths::from_environment();
  if (!paths) return paths.error();
  auto kernel = sbx::image::ensure_kernel(
      paths->cache, [](const std::string& msg) { fprintf(stderr, "%s\n", msg.c_str()); });
  if (!kernel) return kernel.error().wrap("kernel");
  auto tsc = sbx::vm::host_tsc_khz();
  if (!tsc) return tsc.error().wrap("tsc");
  auto tmp = sbx::TempDir::create("sbx-bench");
  if (!tmp) return tmp.error();
  auto cpio = write_trivial_cpio(tmp->path());
  if (!cpio) return cpio.error().wrap("trivial initramfs");

  // 1. Raw QEMU: sbx's own choices for everything but the devices and the
  // initramfs (vm/qemu_command decides the CPU model and command line).
  sbx::vm::VmConfig cfg;
  cfg.accel = m.accel == "kvm" ? sbx::vm::Accel::kKvm : sbx::vm::Accel::kTcg;
  cfg.cpus = 2;
  cfg.memory_mib = 1024;
  cfg.tsc_khz = *tsc;
  std::vector<std::string> argv = {"qemu-system-x86_64",
                                   "-M",
                                   "microvm,accel=" + m.accel,
                                   "-cpu",
                                   sbx::vm::cpu_model(cfg),
                                   "-m",
                                   std::to_string(cfg.memory_mib),
                                   "-smp",
                                   std::to_string(cfg.cpus),
                                   "-nodefaults",
                                   "-no-user-config",
                                   "-nographic",
                                   "-no-reboot",
                                   "-serial",
                                   "stdio",
                                   "-kernel",
                                   kernel->vmlinux,
                                   "-initrd",
                                   *cpio,
                                   "-append",
                                   sbx::vm::kernel_cmdline(cfg)};
  std::vector<double> raw;
  for (int i = 0; i < o.runs; ++i) {
    auto s = raw_boot(argv);
    if (!s) return s.error().wrap("raw boot " + std::to_string(i + 1));
    raw.push_back(*s);
  }

  // 2. sbx create + first exec, in an isolated state directory. The daemon
  // is started first so that its start is in no sample.
  t::SbxEnv env;
  std::string ws = env.make_workspace("bench-ws");
  if (auto d = t::sbx({"daemon", "start"}); d.code != 0)
    return sbx::err("daemon start: " + d.all());
  std::vector<double> create_s, ready_s;
  for (int i = 0; i < o.runs; ++i) {
    b::Stopwatch sw;
    auto c = t::sbx({"create", "--name", "bench", "--memory", "1g", "--cpus", "2", "shell", ws});
    double created = sw.seconds();
    if (c.code != 0) return sbx::err("sbx create: " + c.all());
    auto e = t::sbx({"exec", "bench", "--", "true"});
    double ready = sw.seconds();
    if (e.code != 0) return sbx::err("first sbx exec true: " + e.all());
    auto accel = b::running_accel(env);
    if (!accel) return accel.error();
    if (*accel != m.accel)
      return sbx::err("the sandbox runs on " + *accel + ", expected " + m.accel);
    create_s.push_back(created);
    ready_s.push_back(ready);
    if (i + 1 < o.runs)
      if (auto r = t::sbx({"rm", "-f", "bench"}); r.code != 0) return sbx::err("rm: " + r.all());
  }

  // 3. exec round trips on the running sandbox.
  std::vector<double> rt;
  for (int i = 0; i < execs; ++i) {
    b::Stopwatch sw;
    auto e = t::sbx({"exec", "bench", "--", "true"});
    rt.push_back(sw.millis());
    if (e.code != 0) return sbx::err("sbx exec true: " + e.all());
  }

  auto r = b::summarize(raw), c = b::summarize(create_s), s = b::summarize(ready_s);
  auto x = b::summarize(rt);
  printf("boot_bench: 2 vCPU, 1 GiB, kernel %s, %d runs; seconds, median [min-max]\n",
         kernel->version.c_str(), o.runs);
  b::print_machine(m);
  printf(
      "both boots end when the first guest userspace program's answer reaches the host;\n"
      "shutdown is timed on neither side\n");
  printf("  raw QEMU to a trivial init's console line   : %s\n", b::median_range(r, 2).c_str());
  printf("  sbx create (until the command returns)      : %s\n", b::median_range(c, 2).c_str());
  printf("  sbx create + first sbx exec true            : %s\n", b::median_range(s, 2).c_str());
  printf("  ratio sbx create + exec / raw (medians)     : %.2fx\n", s.median / r.median);
  printf("sbx exec true round trip on a running sandbox, %d runs, ms:\n", execs);
  printf("  median %.1f, p10-p90 %.1f-%.1f, min-max %.1f-%.1f\n", x.median, x.p10, x.p90, x.min,
         x.max);
  return sbx::ok();
}

}  // namespace

int main(int argc, char** argv) {
  auto o =
      b::parse_options(argc, argv, "boot time: raw QEMU vs sbx create + exec; exec round trip");
  if (!o) return fprintf(stderr, "%s\n", o.error().message.c_str()), 2;
  int execs = 30;
  if (const char* e = getenv("SBX_BENCH_EXECS")) execs = atoi(e);
  if (execs < 1) return fprintf(stderr, "SBX_BENCH_EXECS: expected a positive number\n"), 2;
  auto m = b::describe_machine();
  if (!m) return fprintf(stderr, "boot_bench: %s\n", m.error().message.c_str()), 1;
  auto r = run(*o, *m, execs);
  if (!r) return fprintf(stderr, "boot_bench: FAILED: %s\n", r.error().message.c_str()), 1;
  return 0;
}
