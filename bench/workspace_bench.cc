// Workspace I/O, 9p against virtio-fs, measured side by side in one run:
// many small files written and read back inside the guest (what builds and
// agents do), a large sequential write, and a metadata walk. Prints seconds
// per fs and the ratio. Each fs gets its own daemon (the choice is a daemon
// setting) and sandbox; the guest commands are identical.
#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "base/strings.h"
#include "harness/harness.h"

using namespace sbx;
using sbx::testing::SbxEnv;
using sbx::testing::CmdResult;
namespace t = sbx::testing;
using Clock = std::chrono::steady_clock;

namespace {

struct Workload {
  const char* name;
  const char* script;  // runs in a fresh directory of the workspace
};

const Workload kWorkloads[] = {
    {"write 500 small files", "for i in $(seq 500); do echo line $i > f$i.txt; done"},
    {"read 500 small files", "cat f*.txt > /dev/null"},
    {"stat walk x20", "for i in $(seq 20); do find . -type f > /dev/null; done"},
    {"write 64 MiB", "dd if=/dev/zero of=big bs=1M count=64 conv=fsync 2>/dev/null"},
    {"read 64 MiB", "cat big > /dev/null"},
};

double timed_guest(const std::string& sandbox, const std::string& dir, const std::string& script) {
  // Timing inside the guest excludes the exec round trip.
  auto r = t::sbx({"exec", sandbox, "--", "bash", "-c",
                "cd " + shell_quote(dir) + " && s=$(date +%s.%N) && { " + script +
                    "; } && e=$(date +%s.%N) && echo \"$e - $s\" | bc -l 2>/dev/null || "
                    "python3 -c \"print($e - $s)\""});
  if (r.code != 0) {
    fprintf(stderr, "workload failed: %s\n", r.all().c_str());
    return -1;
  }
  return std::atof(trim(r.out).c_str());
}

}  // namespace

int main() {
  std::map<std::string, std::vector<double>> results;
  for (const char* fs : {"9p", "virtiofs"}) {
    setenv("SBX_WORKSPACE_FS", fs, 1);
    SbxEnv env;
    std::string ws = env.make_workspace("bench-ws");
    auto c = t::sbx({"create", "--name", "wb", "--memory", "1g", "--cpus", "2", "shell", ws});
    if (c.code != 0) {
      fprintf(stderr, "create (%s) failed: %s\n", fs, c.all().c_str());
      return 1;
    }
    std::string dir = ws + "/run";
    (void)t::sbx({"exec", "wb", "--", "mkdir", "-p", dir});
    for (auto& w : kWorkloads) results[fs].push_back(timed_guest("wb", dir, w.script));
    (void)t::sbx({"rm", "-f", "wb"});
  }
  printf("workspace I/O inside the guest (TCG), seconds; lower is better\n");
  printf("%-24s %9s %9s %14s\n", "workload", "9p", "virtiofs", "9p/virtiofs");
  for (size_t i = 0; i < std::size(kWorkloads); ++i) {
    double a = results["9p"][i], b = results["virtiofs"][i];
    printf("%-24s %9.3f %9.3f %13.2fx\n", kWorkloads[i].name, a, b, b > 0 ? a / b : 0.0);
  }
  return 0;
}
