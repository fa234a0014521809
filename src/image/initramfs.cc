#include "image/initramfs.h"

#include <unistd.h>

#include <optional>
#include <set>

#include "base/child_process.h"
#include "base/files.h"
#include "base/strings.h"
#include "image/cpio_writer.h"
#include "image/file_lock.h"
#include "image/sha256.h"
#include "image/xz.h"

namespace sbx::image {
namespace {

// Bump when the archive layout changes, so cached initramfs files are rebuilt.
constexpr char kInitramfsFormat[] = "sbx-initramfs-v1";

void report(const ProgressFn& progress, const std::string& msg) {
  if (progress) progress(msg);
}

}  // namespace

std::vector<std::string> default_guest_modules() {
  return {"virtio_mmio",  "virtio_blk",    "virtio_console", "9p",
          "9pnet_virtio", "fuse",          "virtiofs",       "ext4",
          "overlay",      "bridge",        "veth",           "br_netfilter",
          "nf_tables",    "nft_compat",    "nft_chain_nat",  "nf_nat",
          "nf_conntrack", "xt_MASQUERADE", "xt_addrtype",    "xt_conntrack",
          "iptable_nat",  "iptable_filter", "ip_tables",     "x_tables",
          // docker run -p: DNAT rules match tcp/udp ports (xt_tcpudp) and
          // jump to DNAT (xt_nat); found missing by the ports e2e suite.
          "xt_tcpudp",    "xt_nat",        "xt_mark",        "xt_multiport",
          "xt_comment",   "iptable_mangle", "ipt_REJECT",
          // Egress interception (sbx-agent's guest_network.cc): the dummy
          // sbx0 carrying the default route, REDIRECT to the agent's
          // listeners and REJECT for the rest. iptables-nft uses the xt_*
          // targets through nft_compat; the native nft_* ones cover
          // nftables-translated rules.
          "dummy",        "xt_REDIRECT",   "nft_redir",      "nf_reject_ipv4",
          "nft_reject_ipv4",
          "tun",          "loop"};
}

ShowDepends parse_show_depends(const std::string& output) {
  ShowDepends out;
  for (auto& raw : split(output, '\n')) {
    std::string line = trim(raw);
    // "insmod /path/to/mod.ko [module options]"
    if (starts_with(line, "insmod ")) {
      std::string rest = trim(line.substr(7));
      size_t sp = rest.find(' ');
      out.insmod.push_back(sp == std::string::npos ? rest : rest.substr(0, sp));
    } else if (starts_with(line, "builtin ")) {
      out.builtin.push_back(trim(line.substr(8)));
    }
  }
  return out;
}

Result<ModulePlan> resolve_modules(const KernelArtifacts& kernel,
                                   const std::vector<std::string>& modules) {
  std::string root = kernel_root(kernel);
  if (!path_exists(kernel.modules_dir + "/modules.dep"))
    return err("no modules.dep in " + kernel.modules_dir + " (depmod not run)");
  ModulePlan plan;
  std::set<std::string> seen;
  for (auto& mod : modules) {
    auto r = run_command({"env", "LC_ALL=C", "modprobe", "-d", root, "-S",
                          kernel.version, "--show-depends", mod});
    if (!r) return r.error().wrap("modprobe (install kmod)");
    if (!r->status.exited || r->status.code != 0) {
      if (r->output.find("not found") != std::string::npos) {
        plan.missing.push_back(mod);
        continue;
      }
      return err("modprobe --show-depends " + mod + " failed: " + trim(r->output));
    }
    auto deps = parse_show_depends(r->output);
    if (deps.insmod.empty() && !deps.builtin.empty()) plan.builtin.push_back(mod);
    for (auto& f : deps.insmod)
      if (seen.insert(f).second) plan.files.push_back(f);
  }
  return plan;
}

std::string initramfs_module_path(const KernelArtifacts& kernel,
                                  const std::string& host_path) {
  std::string rel = host_path;
  std::string prefix = kernel.modules_dir + "/";
  if (starts_with(rel, prefix)) {
    rel = rel.substr(prefix.size());
  } else {
    size_t slash = rel.rfind('/');
    rel = "kernel/" + (slash == std::string::npos ? rel : rel.substr(slash + 1));
  }
  if (ends_with(rel, ".xz")) rel.resize(rel.size() - 3);
  return "/lib/modules/" + kernel.version + "/" + rel;
}

namespace {

// Writes the archive for an already resolved module plan.
Result<std::string> write_initramfs(const KernelArtifacts& kernel,
                                    const std::string& agent_binary,
                                    const ModulePlan& plan,
                                    const std::string& out_path) {
  auto w = CpioWriter::create(out_path);
  if (!w) return w.error();
  for (const char* d : {"/dev", "/proc", "/sys", "/newroot", "/etc/sbx", "/tmp", "/run"})
    if (auto r = w->add_dir(d); !r) return r.error();
  // Without /dev/console in the archive, init starts with no stdio at all.
  if (auto r = w->add_char_device("/dev/console", 0600, 5, 1); !r) return r.error();
  if (auto r = w->add_char_device("/dev/null", 0666, 1, 3); !r) return r.error();
  if (auto r = w->add_file_from("/init", agent_binary, 0755); !r)
    return r.error().wrap("add agent " + agent_binary);

  std::string list;
  std::optional<TempDir> scratch;
  for (auto& host : plan.files) {
    std::string inside = initramfs_module_path(kernel, host);
    std::string source = host;
    if (ends_with(host, ".xz")) {
      if (!scratch) {
        auto t = TempDir::create("sbx-initramfs");
        if (!t) return t.error();
        scratch.emplace(std::move(*t));
      }
      source = scratch->path() + "/module.ko";
      if (auto r = xz_decompress_file(host, source); !r) return r.error();
    }
    if (auto r = w->add_file_from(inside, source, 0644); !r) return r.error();
    list += inside + "\n";
  }
  if (auto r = w->add_file("/etc/sbx/modules", list, 0644); !r) return r.error();
  if (auto r = w->finish(); !r) return r.error();
  return out_path;
}

}  // namespace

Result<std::string> build_initramfs(const KernelArtifacts& kernel,
                                    const std::string& agent_binary,
                                    const std::vector<std::string>& modules,
                                    const std::string& out_path) {
  auto plan = resolve_modules(kernel, modules);
  if (!plan) return plan.error();
  return write_initramfs(kernel, agent_binary, *plan, out_path);
}

Result<std::string> ensure_initramfs(const std::string& cache_dir,
                                     const KernelArtifacts& kernel,
                                     const std::string& agent_binary,
                                     const std::vector<std::string>& modules,
                                     ProgressFn progress) {
  Sha256 h;
  h.update_field(kInitramfsFormat);
  h.update_field(kernel.version);
  h.update_field(kernel.package_version);
  h.update_field(std::to_string(modules.size()));
  for (auto& m : modules) h.update_field(m);
  if (auto r = h.update_file(agent_binary); !r) return r.error().wrap("agent binary");
  std::string dir = cache_dir + "/initramfs";
  if (auto r = make_dirs(dir); !r) return r.error();
  std::string out = dir + "/" + h.hex_digest() + ".cpio";
  // The archive is renamed into place only when complete, so existence is
  // the completion marker.
  if (path_exists(out)) return out;
  auto lock = FileLock::acquire(dir + "/.lock");
  if (!lock) return lock.error();
  if (path_exists(out)) return out;

  report(progress, "Building initramfs for kernel " + kernel.version + "...");
  auto plan = resolve_modules(kernel, modules);
  if (!plan) return plan.error();
  if (!plan->missing.empty())
    report(progress, "Kernel " + kernel.version + " lacks modules (skipped): " +
                         join(plan->missing, ", "));
  auto built = write_initramfs(kernel, agent_binary, *plan, out);
  if (!built) return built.error().wrap("build initramfs");
  return out;
}

}  // namespace sbx::image
