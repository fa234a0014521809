// Workspace I/O, 9p against virtio-fs: the same workload, timed inside the
// guest (the exec round trip is not in the numbers), on a workspace shared
// each way. Each fs gets its own daemon (the choice is a daemon setting) and
// sandbox. Every run works in a fresh directory:
//   write 500 small files, read them back, walk their metadata x20,
//   write 64 MiB (fsync), read it back.
// The guest's page cache is dropped (sync; echo 3 > drop_caches, as root)
// before every read phase, so reads go through the shared file system; the
// host's page cache stays warm. Every step is checked (exit status, and the
// files as the host sees them); any failure exits 1.
#include <stdlib.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "base/files.h"
#include "base/strings.h"
#include "bench_util.h"

namespace t = sbx::testing;
namespace b = sbx::bench;
using sbx::Result;

namespace {

constexpr int kSmallFiles = 500;
constexpr uint64_t kBigBytes = 64ULL << 20;

struct Workload {
  const char* name;
  const char* script;  // runs with bash -euo pipefail in the run's directory
  bool reads;          // drop the guest's caches first
};

const Workload kWorkloads[] = {
    {"write 500 small files", "for i in $(seq 500); do echo line $i > f$i.txt; done", false},
    {"read 500 small files", "cat f*.txt > /dev/null", true},
    {"stat walk x20", "for i in $(seq 20); do find . -type f > /dev/null; done", true},
    {"write 64 MiB (fsync)", "dd if=/dev/zero of=big bs=1M count=64 conv=fsync status=none", false},
    {"read 64 MiB", "cat big > /dev/null", true},
};

/// Runs `script` in `dir` in the guest and returns its duration as the
/// guest's clock saw it, in seconds.
Result<double> timed_guest(const std::string& dir, const std::string& script) {
  auto r = t::sbx({"exec", "wb", "--", "bash", "-euo", "pipefail", "-c",
                   "cd " + sbx::shell_quote(dir) + "; s=$(date +%s.%N); " + script +
                       "; e=$(date +%s.%N); echo \"$s $e\""});
  if (r.code != 0) return sbx::err("exit " + std::to_string(r.code) + ": " + sbx::trim(r.all()));
  auto f = sbx::split(sbx::trim(r.out), ' ');
  char* end1 = nullptr;
  char* end2 = nullptr;
  double s = f.size() == 2 ? strtod(f[0].c_str(), &end1) : 0;
  double e = f.size() == 2 ? strtod(f[1].c_str(), &end2) : 0;
  if (f.size() != 2 || *end1 || *end2 || e < s)
    return sbx::err("unreadable timing output '" + sbx::trim(r.out) + "'");
  return e - s;
}

Result<void> drop_guest_caches() {
  auto r = t::sbx(
      {"exec", "-u", "root", "wb", "--", "sh", "-c", "sync && echo 3 > /proc/sys/vm/drop_caches"});
  if (r.code != 0) return sbx::err("drop the guest's caches: " + r.all());
  return sbx::ok();
}

/// What the host sees after a write phase: the files the guest wrote.
Result<void> check_on_host(const std::string& dir, size_t workload) {
  if (workload == 0) {
    auto names = sbx::list_dir(dir);
    if (!names) return names.error();
    if (names->size() != kSmallFiles)
      return sbx::err(dir + " holds " + std::to_string(names->size()) + " files, expected " +
                      std::to_string(kSmallFiles));
    auto one = sbx::read_file(dir + "/f500.txt");
    if (!one || *one != "line 500\n") return sbx::err(dir + "/f500.txt is wrong or missing");
  }
  if (workload == 3) {
    auto big = sbx::read_file(dir + "/big");
    if (!big || big->size() != kBigBytes)
      return sbx::err(dir + "/big is " + (big ? std::to_string(big->size()) : "missing") +
                      " bytes, expected " + std::to_string(kBigBytes));
  }
  return sbx::ok();
}

/// seconds[workload] = one sample per run, for one file system.
using Samples = std::vector<std::vector<double>>;

Result<Samples> measure(const std::string& fs, const b::Options& o, const b::Machine& m) {
  setenv("SBX_WORKSPACE_FS", fs.c_str(), 1);
  t::SbxEnv env;
  std::string ws = env.make_workspace("bench-ws");
  auto c = t::sbx({"create", "--name", "wb", "--memory", "1g", "--cpus", "2", "shell", ws});
  if (c.code != 0) return sbx::err("sbx create (" + fs + "): " + c.all());
  auto accel = b::running_accel(env);
  if (!accel) return accel.error();
  if (*accel != m.accel) return sbx::err("the sandbox runs on " + *accel + ", expected " + m.accel);
  auto fstype = t::sbx({"exec", "wb", "--", "findmnt", "-n", "-o", "FSTYPE", ws});
  std::string want = fs == "9p" ? "9p" : "virtiofs";
  if (fstype.code != 0 || sbx::trim(fstype.out) != want)
    return sbx::err("the workspace is mounted as '" + sbx::trim(fstype.all()) + "', expected " +
                    want);

  Samples seconds(std::size(kWorkloads));
  for (int run = 0; run < o.runs; ++run) {
    std::string dir = ws + "/run" + std::to_string(run);
    if (auto d = sbx::make_dirs(dir); !d) return d.error();
    for (size_t w = 0; w < std::size(kWorkloads); ++w) {
      if (kWorkloads[w].reads)
        if (auto d = drop_guest_caches(); !d) return d.error();
      auto s = timed_guest(dir, kWorkloads[w].script);
      if (!s) return s.error().wrap(fs + ": " + kWorkloads[w].name);
      if (auto h = check_on_host(dir, w); !h) return h.error().wrap(fs + ": " + kWorkloads[w].name);
      seconds[w].push_back(*s);
    }
    // The next run starts from an empty directory of its own; this one's
    // files would only grow the stat walk.
    if (auto r = sbx::remove_tree(dir); !r) return r.error();
  }
  return seconds;
}

}  // namespace

int main(int argc, char** argv) {
  auto o = b::parse_options(argc, argv, "workspace I/O in the guest: 9p vs virtio-fs");
  if (!o) return fprintf(stderr, "%s\n", o.error().message.c_str()), 2;
  auto m = b::describe_machine();
  if (!m) return fprintf(stderr, "workspace_bench: %s\n", m.error().message.c_str()), 1;
  std::map<std::string, Samples> results;
  for (const char* fs : {"9p", "virtiofs"}) {
    auto r = measure(fs, *o, *m);
    if (!r) return fprintf(stderr, "workspace_bench: FAILED: %s\n", r.error().message.c_str()), 1;
    results[fs] = std::move(*r);
  }
  printf(
      "workspace_bench: I/O inside the guest, timed by the guest's clock, %d runs; seconds, "
      "median [min-max]; lower is better\n",
      o->runs);
  b::print_machine(*m);
  printf("guest page cache dropped before each read phase; host page cache warm\n\n");
  printf("%-24s %-24s %-24s %s\n", "workload", "9p", "virtiofs", "9p/virtiofs (medians)");
  for (size_t w = 0; w < std::size(kWorkloads); ++w) {
    auto a = b::summarize(results["9p"][w]);
    auto v = b::summarize(results["virtiofs"][w]);
    printf("%-24s %-24s %-24s %.2fx\n", kWorkloads[w].name, b::median_range(a, 3).c_str(),
           b::median_range(v, 3).c_str(), v.median > 0 ? a.median / v.median : 0.0);
  }
  return 0;
}
