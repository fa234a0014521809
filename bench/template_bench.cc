// Template benchmark: what templates cost a user, side by side in one run.
//   create, cold vs warm   `sbx create shell` with an empty template cache
//                          (the kernel copied in, so only the initramfs and
//                          the shell template are built) against the shared
//                          warm cache; timed until the command returns;
//   layer build            `sbx create sbx-test` (the test kit: a dpkg
//                          package over shell) with its layer removed first,
//                          so the timed create builds it, against the same
//                          create with the layer cached;
//   layer size             the agent layer's bytes on disk against its
//                          parent's (shell), from `sbx template ls --json`.
// Cold runs default to 1 (each builds a template from the Debian archive);
// SBX_BENCH_COLD_RUNS=N asks for more. Needs the guest kernel in the cache
// (one `sbx create` builds it) and the host's apt sources reachable.
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/files.h"
#include "base/paths.h"
#include "base/strings.h"
#include "bench_util.h"

namespace t = sbx::testing;
namespace b = sbx::bench;
using sbx::Result;

namespace {

// Times `sbx create ARGS...` (checked), then removes the sandbox untimed.
Result<double> timed_create(const std::string& name, const std::string& agent,
                            const std::string& ws) {
  b::Stopwatch sw;
  auto c = t::sbx({"create", "--name", name, "--memory", "1g", agent, ws});
  double s = sw.seconds();
  if (c.code != 0) return sbx::err("sbx create " + agent + ": " + c.all());
  if (auto r = t::sbx({"rm", "-f", name}); r.code != 0) return sbx::err("sbx rm: " + r.all());
  return s;
}

// Bytes on disk of template `tag` in `sbx template ls --json`.
Result<uint64_t> template_bytes(const std::string& tag) {
  auto ls = t::sbx({"template", "ls", "--json"});
  if (ls.code != 0) return sbx::err("sbx template ls: " + ls.all());
  auto j = nlohmann::json::parse(ls.out, nullptr, false);
  if (j.is_object()) j = j.value("templates", nlohmann::json::array());
  if (j.is_array())
    for (auto& e : j)
      if (e.value("tag", "") == tag) return e.value("size_bytes", uint64_t{0});
  return sbx::err("template '" + tag + "' is not listed: " + ls.out);
}

Result<void> daemon_restart() {
  (void)t::sbx({"daemon", "stop"});
  if (auto d = t::sbx({"daemon", "start"}); d.code != 0)
    return sbx::err("daemon start: " + d.all());
  return sbx::ok();
}

Result<void> run(const b::Options& o, const b::Machine& m, int cold_runs) {
  auto paths = sbx::Paths::from_environment();
  if (!paths) return paths.error();
  std::string warm_cache = paths->cache;
  if (!sbx::path_exists(warm_cache + "/kernel"))
    return sbx::err("no guest kernel in " + warm_cache + "; run one 'sbx create' first");
  // The daemon reads the test kit (sbx-test) only with SBX_TEST_KITS=1.
  setenv("SBX_TEST_KITS", "1", 1);
  t::SbxEnv env;
  std::string ws = env.make_workspace("bench-ws");
  if (auto r = daemon_restart(); !r) return r.error();

  // 1. Warm: one untimed create makes sure shell is built.
  if (auto w = timed_create("warmup", "shell", ws); !w) return w.error();
  std::vector<double> warm;
  for (int i = 0; i < o.runs; ++i) {
    auto s = timed_create("warm", "shell", ws);
    if (!s) return s.error();
    warm.push_back(*s);
  }

  // 2. The agent layer: built in the timed create, then found cached.
  std::vector<double> build, cached;
  for (int i = 0; i < o.runs; ++i) {
    if (auto r = t::sbx({"template", "rm", "sbx-test"});
        r.code != 0 && r.err.find("not found") == std::string::npos)
      return sbx::err("template rm sbx-test: " + r.all());
    auto s = timed_create("layer", "sbx-test", ws);
    if (!s) return s.error().wrap("layer build");
    build.push_back(*s);
    auto c = timed_create("layer", "sbx-test", ws);
    if (!c) return c.error().wrap("cached layer");
    cached.push_back(*c);
  }
  auto layer_bytes = template_bytes("sbx-test");
  if (!layer_bytes) return layer_bytes.error();
  auto shell_bytes = template_bytes("shell");
  if (!shell_bytes) return shell_bytes.error();

  // 3. Cold: a fresh cache per run, the kernel hard-linked in.
  std::vector<double> cold;
  for (int i = 0; i < cold_runs; ++i) {
    auto dir = sbx::TempDir::create("sbx-bench-cache");
    if (!dir) return dir.error();
    if (auto cp = t::run({"cp", "-al", warm_cache + "/kernel", dir->path() + "/kernel"});
        cp.code != 0)
      return sbx::err("copy the kernel into the cold cache: " + cp.all());
    setenv("SBX_CACHE_DIR", dir->path().c_str(), 1);
    if (auto r = daemon_restart(); !r) return r.error();
    auto s = timed_create("cold", "shell", ws);
    (void)t::sbx({"daemon", "stop"});
    unsetenv("SBX_CACHE_DIR");
    if (!s) return s.error().wrap("cold create");
    cold.push_back(*s);
  }
  if (auto r = daemon_restart(); !r) return r.error();

  auto w = b::summarize(warm), c = b::summarize(cold), bl = b::summarize(build),
       ca = b::summarize(cached);
  printf("template_bench: 1 GiB sandboxes, %d runs (%d cold); seconds, median [min-max]\n", o.runs,
         cold_runs);
  b::print_machine(m);
  printf("every create is timed until 'sbx create' returns (the sandbox booted)\n");
  printf("  sbx create shell, cold template cache       : %s\n", b::median_range(c, 1).c_str());
  printf("  sbx create shell, warm template cache       : %s\n", b::median_range(w, 1).c_str());
  printf("  ratio cold / warm (medians)                 : %.1fx\n", c.median / w.median);
  printf("  sbx create sbx-test, layer built            : %s\n", b::median_range(bl, 1).c_str());
  printf("  sbx create sbx-test, layer cached           : %s\n", b::median_range(ca, 1).c_str());
  printf("  layer build alone (medians' difference)     : %.1f\n", bl.median - ca.median);
  printf("on disk: layer sbx-test %s, its parent shell %s, ratio %.4f\n",
         sbx::format_size(*layer_bytes).c_str(), sbx::format_size(*shell_bytes).c_str(),
         static_cast<double>(*layer_bytes) / static_cast<double>(*shell_bytes));
  return sbx::ok();
}

}  // namespace

int main(int argc, char** argv) {
  auto o = b::parse_options(
      argc, argv,
      "templates: create with a cold vs warm cache, agent layer build vs cached, layer size", 3);
  if (!o) return fprintf(stderr, "%s\n", o.error().message.c_str()), 2;
  int cold_runs = 1;
  if (const char* e = getenv("SBX_BENCH_COLD_RUNS")) cold_runs = atoi(e);
  if (cold_runs < 1) return fprintf(stderr, "SBX_BENCH_COLD_RUNS: expected a positive number\n"), 2;
  auto m = b::describe_machine();
  if (!m) return fprintf(stderr, "template_bench: %s\n", m.error().message.c_str()), 1;
  auto r = run(*o, *m, cold_runs);
  if (!r) return fprintf(stderr, "template_bench: FAILED: %s\n", r.error().message.c_str()), 1;
  return 0;
}
