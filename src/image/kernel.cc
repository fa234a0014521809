#include "image/kernel.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

#include "base/child_process.h"
#include "base/fd.h"
#include "base/files.h"
#include "base/strings.h"
#include "image/file_lock.h"
#include "image/xz.h"

namespace sbx::image {
namespace {

constexpr char kMetapackage[] = "linux-image-amd64";
constexpr char kMarker[] = ".complete";

// apt's messages are translated; we parse them, so force the C locale.
std::vector<std::string> c_locale(std::vector<std::string> argv) {
  argv.insert(argv.begin(), {"env", "LC_ALL=C", "LANG=C"});
  return argv;
}

std::string tail(const std::string& s, size_t n) {
  return trim(s.size() > n ? s.substr(s.size() - n) : s);
}

void report(const ProgressFn& progress, const std::string& msg) {
  if (progress) progress(msg);
}

// Reads a cache entry written by build_kernel_dir(); fails if incomplete.
Result<KernelArtifacts> load_cached(const std::string& dir) {
  auto marker = read_file(dir + "/" + kMarker);
  if (!marker) return marker.error();
  auto lines = split(*marker, '\n');
  if (lines.size() < 2 || trim(lines[0]).empty())
    return err("corrupt kernel cache marker in " + dir);
  KernelArtifacts k;
  k.version = trim(lines[0]);
  k.package_version = trim(lines[1]);
  k.vmlinux = dir + "/vmlinux";
  k.modules_dir = dir + "/root/lib/modules/" + k.version;
  if (!path_exists(k.vmlinux) || !is_directory(k.modules_dir))
    return err("kernel cache entry " + dir + " is missing files");
  return k;
}

// Downloads and unpacks `pkg` into `work`, leaving vmlinux, root/ (with a
// depmod'ed module tree) and the completion marker there.
Result<void> build_kernel_dir(const KernelPackage& pkg, const std::string& work,
                              const ProgressFn& progress) {
  using clock = std::chrono::steady_clock;
  auto t0 = clock::now();
  report(progress, "Downloading kernel " + pkg.name + " " + pkg.version + "...");
  auto dl = run_command(
      c_locale({"apt-get", "download", "-q", pkg.name + "=" + pkg.version}), work);
  if (!dl) return dl.error().wrap("apt-get download");
  if (!dl->status.exited || dl->status.code != 0) {
    return err("apt-get download " + pkg.name + "=" + pkg.version + " failed (" +
               dl->status.describe() + "): " + tail(dl->output, 1500) +
               "\n(if the package lists are missing or stale, run apt-get update)");
  }
  auto names = list_dir(work);
  if (!names) return names.error();
  std::string deb;
  for (auto& n : *names)
    if (ends_with(n, ".deb")) deb = work + "/" + n;
  if (deb.empty()) return err("apt-get download produced no .deb in " + work);

  report(progress, "Unpacking kernel package...");
  std::string root = work + "/root";
  if (auto r = run_checked({"dpkg-deb", "-x", deb, root}); !r)
    return r.error().wrap("unpack " + deb);
  (void)::unlink(deb.c_str());

  auto boot = list_dir(root + "/boot");
  if (!boot) return boot.error().wrap("kernel package has no /boot");
  std::string version;
  for (auto& n : *boot)
    if (starts_with(n, "vmlinuz-")) version = n.substr(8);
  if (version.empty()) return err("no /boot/vmlinuz-* in " + pkg.name);
  if (!is_directory(root + "/lib/modules/" + version))
    return err("kernel package lacks /lib/modules/" + version);

  report(progress, "Extracting vmlinux from the bzImage...");
  if (auto r = extract_vmlinux(root + "/boot/vmlinuz-" + version, work + "/vmlinux"); !r)
    return r;

  // Debian generates modules.dep in postinst, so the package ships none.
  report(progress, "Indexing kernel modules (depmod)...");
  if (auto r = run_checked({"depmod", "-b", root, version}); !r)
    return r.error().wrap("depmod (install kmod)");

  auto secs = std::chrono::duration<double>(clock::now() - t0).count();
  report(progress, "Kernel " + version + " ready in " +
                       std::to_string(static_cast<int>(secs + 0.5)) + " s");
  return write_file_atomic(work + "/" + kMarker,
                           version + "\n" + pkg.version + "\n" + pkg.name + "\n");
}

// With no apt answer (e.g. lists deleted), an already cached kernel still
// lets sbx work offline.
Result<KernelArtifacts> newest_cached(const std::string& kernel_dir) {
  auto names = list_dir(kernel_dir);
  if (!names) return names.error();
  std::sort(names->begin(), names->end());
  for (auto it = names->rbegin(); it != names->rend(); ++it) {
    if (starts_with(*it, ".")) continue;
    auto k = load_cached(kernel_dir + "/" + *it);
    if (k) return k;
  }
  return err("no cached kernel");
}

// Fingerprint of everything that can change apt's answer: package lists,
// sources and pinning. apt-get update renames fresh lists into place, which
// changes the lists directory's mtime.
std::string apt_state_key() {
  std::string key;
  for (const char* p : {"/var/lib/apt/lists", "/etc/apt/sources.list",
                        "/etc/apt/sources.list.d", "/etc/apt/preferences",
                        "/etc/apt/preferences.d"}) {
    struct stat st;
    if (::stat(p, &st) == 0)
      key += std::string(p) + "=" + std::to_string(st.st_mtim.tv_sec) + "." +
             std::to_string(st.st_mtim.tv_nsec) + "/" + std::to_string(st.st_size) + ";";
    else
      key += std::string(p) + "=absent;";
  }
  return key;
}

// apt-cache takes about a second per call here, so the answer is remembered
// in the cache until the apt state changes.
Result<KernelPackage> resolve_kernel_package_memo(const std::string& memo_path) {
  std::string key = apt_state_key();
  if (auto memo = read_file(memo_path); memo) {
    auto lines = split(*memo, '\n');
    if (lines.size() >= 3 && lines[0] == key && !lines[1].empty() && !lines[2].empty())
      return KernelPackage{lines[1], lines[2]};
  }
  auto pkg = resolve_kernel_package();
  if (!pkg) return pkg;
  (void)write_file_atomic(memo_path, key + "\n" + pkg->name + "\n" + pkg->version + "\n");
  return pkg;
}

}  // namespace

Result<std::string> parse_candidate_version(const std::string& policy_output) {
  for (auto& line : split(policy_output, '\n')) {
    std::string t = trim(line);
    if (starts_with(t, "Candidate:")) {
      std::string v = trim(t.substr(10));
      if (v.empty() || v == "(none)") break;
      return v;
    }
  }
  return err("apt has no installation candidate (run apt-get update)");
}

Result<KernelPackage> parse_kernel_dependency(const std::string& show_output) {
  for (auto& line : split(show_output, '\n')) {
    if (!starts_with(line, "Depends:")) continue;
    // "Depends: linux-image-6.1.0-56-amd64 (= 6.1.192-2), foo | bar"
    for (auto& alt_group : split(line.substr(8), ',')) {
      for (auto& alt : split(alt_group, '|')) {
        std::string dep = trim(alt);
        KernelPackage pkg;
        pkg.name = dep.substr(0, dep.find_first_of(" ("));
        if (!starts_with(pkg.name, "linux-image-") || pkg.name == kMetapackage) continue;
        size_t open = dep.find("(=");
        size_t close = open == std::string::npos ? open : dep.find(')', open);
        if (close != std::string::npos)
          pkg.version = trim(dep.substr(open + 2, close - open - 2));
        return pkg;
      }
    }
  }
  return err(std::string("no linux-image-* dependency in ") + kMetapackage +
             " (run apt-get update?)");
}

Result<KernelPackage> resolve_kernel_package() {
  // --no-all-versions: only the candidate, i.e. what apt would install.
  auto show = run_command(c_locale({"apt-cache", "show", "--no-all-versions", kMetapackage}));
  if (!show) return show.error().wrap("apt-cache");
  if (!show->status.exited || show->status.code != 0)
    return err(std::string("apt-cache show ") + kMetapackage + " failed: " +
               tail(show->output, 500) + " (run apt-get update)");
  auto pkg = parse_kernel_dependency(show->output);
  if (!pkg) return pkg.error();
  if (pkg->version.empty()) {
    auto policy = run_checked(c_locale({"apt-cache", "policy", pkg->name}));
    if (!policy) return policy.error();
    auto version = parse_candidate_version(*policy);
    if (!version) return version.error().wrap(pkg->name);
    pkg->version = *version;
  }
  return pkg;
}

Result<void> extract_vmlinux(const std::string& bzimage_path,
                             const std::string& out_path) {
  auto data = read_file(bzimage_path);
  if (!data) return data.error();
  static const std::string kXzMagic("\xFD" "7zXZ\0", 6);
  std::string last_error = "no XZ stream found";
  // The first match is normally the payload; trying later ones copes with
  // the magic appearing by chance in the setup code before it.
  for (size_t pos = data->find(kXzMagic); pos != std::string::npos;
       pos = data->find(kXzMagic, pos + 1)) {
    Fd in(::open(bzimage_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!in) return errno_error("open " + bzimage_path);
    if (::lseek(in.get(), static_cast<off_t>(pos), SEEK_SET) < 0)
      return errno_error("seek " + bzimage_path);
    auto r = xz_decompress_fd(in.get(), out_path, true);
    if (!r) {
      last_error = r.error().message;
      continue;
    }
    Fd out(::open(out_path.c_str(), O_RDONLY | O_CLOEXEC));
    char head[4] = {};
    if (out && ::read(out.get(), head, 4) == 4 && std::string_view(head, 4) == "\x7f" "ELF")
      return ok();
    last_error = "XZ stream at offset " + std::to_string(pos) + " is not an ELF";
  }
  (void)::unlink(out_path.c_str());
  return err("extract vmlinux from " + bzimage_path + ": " + last_error);
}

std::string kernel_root(const KernelArtifacts& kernel) {
  std::string suffix = "/lib/modules/" + kernel.version;
  if (ends_with(kernel.modules_dir, suffix))
    return kernel.modules_dir.substr(0, kernel.modules_dir.size() - suffix.size());
  return kernel.modules_dir;
}

Result<KernelArtifacts> ensure_kernel(const std::string& cache_dir,
                                      ProgressFn progress) {
  std::string kdir = cache_dir + "/kernel";
  if (auto r = make_dirs(kdir); !r) return r.error();
  auto abs = absolute_path(kdir);
  if (!abs) return abs.error();
  kdir = *abs;

  auto pkg = resolve_kernel_package_memo(kdir + "/.resolved");
  if (!pkg) {
    auto cached = newest_cached(kdir);
    if (cached) {
      report(progress, "apt could not resolve " + std::string(kMetapackage) + " (" +
                           pkg.error().message + "); using cached kernel " +
                           cached->version);
      return cached;
    }
    return pkg.error().wrap("find guest kernel package");
  }

  std::string dir = kdir + "/" + pkg->name + "_" + pkg->version;
  if (auto k = load_cached(dir); k) return k;

  auto lock = FileLock::acquire(kdir + "/.lock");
  if (!lock) return lock.error();
  // Another process may have finished it while we waited for the lock.
  if (auto k = load_cached(dir); k) return k;

  std::string work = kdir + "/.build-" + pkg->name + "_" + pkg->version;
  // Leftovers of a crashed build (we hold the lock, so nobody else owns them).
  (void)remove_tree(work);
  (void)remove_tree(dir);
  if (auto r = make_dirs(work); !r) return r.error();
  auto built = build_kernel_dir(*pkg, work, progress);
  if (!built) {
    (void)remove_tree(work);
    return built.error().wrap("prepare guest kernel");
  }
  if (::rename(work.c_str(), dir.c_str()) < 0) {
    auto e = errno_error("rename " + work);
    (void)remove_tree(work);
    return e;
  }
  return load_cached(dir);
}

}  // namespace sbx::image
