#include "image/template_builder.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "base/child_process.h"
#include "base/fd.h"
#include "base/files.h"
#include "base/strings.h"
#include "image/apt_sources.h"
#include "image/file_lock.h"
#include "image/sha256.h"
#include "image/template_cache.h"

namespace sbx::image {
namespace {

// Bump whenever the build procedure changes in a way the hashed inputs do
// not capture (mkfs options, mmdebstrap flags), so caches are rebuilt.
constexpr char kBuilderVersion[] = "sbx-template-builder-v2";
constexpr char kRelease[] = "bookworm";
constexpr char kMarker[] = ".complete";

void report(const ProgressFn& progress, const std::string& msg) {
  if (progress) progress(msg);
}

std::string file_tail(const std::string& path, size_t n) {
  auto text = read_file(path);
  if (!text) return "(no log: " + text.error().message + ")";
  return trim(text->size() > n ? text->substr(text->size() - n) : *text);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string fmt_seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", s);
  return buf;
}

// Runs argv with stdout+stderr appended to `log`; on failure the error
// quotes the log's tail.
Result<void> run_logged(const std::vector<std::string>& argv, const std::string& log) {
  Fd fd(::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!fd) return errno_error("open " + log);
  Fd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  std::string line = "+ " + join(argv, " ") + "\n";
  (void)write_all(fd.get(), line);
  SpawnOptions o;
  o.argv = argv;
  o.stdin_fd = devnull.get();
  o.stdout_fd = fd.get();
  o.stderr_fd = fd.get();
  // A build must not outlive an sbx process that was killed half-way.
  o.die_with_parent = true;
  auto child = ChildProcess::spawn(o);
  if (!child) return child.error();
  auto st = child->wait();
  if (!st) return st.error();
  if (!st->exited || st->code != 0)
    return err(argv[0] + " failed (" + st->describe() + "); log " + log + " ends with:\n" +
               file_tail(log, 3000));
  return ok();
}

// Whether anything is mounted at or below `dir` (per /proc/self/mountinfo).
// mmdebstrap's root mode mounts /proc, /sys and /dev nodes into the tree
// while it runs; if it died before unmounting, deleting the tree would
// descend into the host's /dev and /proc.
bool has_mounts_under(const std::string& dir) {
  auto info = read_file("/proc/self/mountinfo");
  if (!info) return true;  // cannot tell: be safe, do not delete
  for (auto& line : split(*info, '\n')) {
    auto f = split(line, ' ');
    if (f.size() < 5) continue;
    const std::string& mnt = f[4];  // octal-escaped, fine for our own paths
    if (mnt == dir || starts_with(mnt, dir + "/")) return true;
  }
  return false;
}

// Deletes a build directory unless something is still mounted inside it.
Result<void> remove_build_dir(const std::string& dir) {
  if (!path_exists(dir)) return ok();
  if (has_mounts_under(dir))
    return err("not removing " + dir + ": file systems are still mounted below it");
  return remove_tree(dir);
}

// Whether `file` (/etc/subuid or /etc/subgid) gives `user` a range, which
// mmdebstrap's unshare mode maps the guest's users onto.
bool has_subid_range(const std::string& file, const std::string& user, uid_t uid) {
  auto text = read_file(file);
  if (!text) return false;
  for (auto& line : split(*text, '\n')) {
    auto f = split(line, ':');
    if (f.size() == 3 && (f[0] == user || f[0] == std::to_string(uid))) return true;
  }
  return false;
}

}  // namespace

Result<void> check_rootless_build() {
  uid_t uid = ::geteuid();
  struct passwd pw;
  struct passwd* found = nullptr;
  char buf[4096];
  std::string user = std::to_string(uid);
  if (::getpwuid_r(uid, &pw, buf, sizeof buf, &found) == 0 && found) user = pw.pw_name;
  for (const char* tool : {"newuidmap", "fakeroot"}) {
    if (find_program(tool).empty())
      return err(std::string("building without root needs ") + tool +
                 " (run scripts/setup.sh, or: sudo apt-get install uidmap fakeroot)");
  }
  for (const char* file : {"/etc/subuid", "/etc/subgid"}) {
    if (!has_subid_range(file, user, uid))
      return err("building without root needs a sub-id range for " + user + " in " + file +
                 " (sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 " + user +
                 ")");
  }
  return ok();
}

std::vector<std::string> pack_command(const std::string& tarball, const std::string& tree,
                                      const std::string& image, bool as_root) {
  // Inode tables and journal are zeroed now, once, in the shared template
  // (lazy init would do it in every guest, into its own overlay). -m 0: no
  // blocks reserved for root; the agent works as an ordinary user. Without
  // root, fakeroot records the tarball's owners and device nodes as tar
  // "creates" them and hands them to mkfs.ext4 -d in the same session, so
  // the image holds the guest's owners, not the builder's.
  std::string script =
      "set -e; tar -C \"$1\" --numeric-owner -xpf \"$2\"; "
      "mkfs.ext4 -F -q -L sbx-root -m 0 -E lazy_itable_init=0,lazy_journal_init=0 "
      "-d \"$1\" \"$3\" \"$4\"";
  std::vector<std::string> argv;
  if (!as_root) argv.push_back("fakeroot");
  for (std::string a : {std::string("sh"), std::string("-c"), script, std::string("sbx-pack"), tree,
                        tarball, image, std::to_string(kTemplateDiskBytes / 1024) + "k"})
    argv.push_back(std::move(a));
  return argv;
}

namespace {

struct Inputs {
  std::vector<std::string> packages;
  std::string sources;
  std::string hook;
  std::string id;  // sha256 hex over all of the above
};

Result<Inputs> shell_inputs() {
  Inputs in;
  in.packages = shell_template_packages();
  auto sources = host_debian_sources_list(kRelease);
  if (!sources) return sources.error();
  in.sources = *sources;
  in.hook = shell_template_hook_script();
  Sha256 h;
  h.update_field(kBuilderVersion);
  h.update_field(kRelease);
  h.update_field(join(in.packages, ","));
  h.update_field(in.sources);
  h.update_field(in.hook);
  in.id = h.hex_digest();
  return in;
}

Result<TemplateArtifacts> load_cached(const std::string& dir, const std::string& id) {
  if (!path_exists(dir + "/" + kMarker)) return err("template not built");
  TemplateArtifacts t;
  t.id = id;
  t.image = dir + "/rootfs.ext4";
  struct stat st;
  if (::stat(t.image.c_str(), &st) < 0) return errno_error("stat " + t.image);
  t.size_bytes = static_cast<uint64_t>(st.st_size);
  return t;
}

Result<void> build(const Inputs& in, const std::string& work, const ProgressFn& progress) {
  std::string log = work + "/build.log";
  std::string sources = work + "/sources.list";
  std::string hook = work + "/customize.sh";
  std::string rootfs = work + "/rootfs";
  std::string tarball = work + "/rootfs.tar";
  std::string image = work + "/rootfs.ext4";
  if (auto r = write_file_atomic(sources, in.sources); !r) return r;
  if (auto r = write_file_atomic(hook, in.hook, 0755); !r) return r;

  report(progress,
         std::string("Building template 'shell' (Debian ") + kRelease + " via mmdebstrap)...");
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::string> argv = {
      // auto: root mode as root, unshare mode (a user namespace over the
      // user's sub-uids) otherwise. Either way the result is a tarball whose
      // owners are the guest's, so one packing step serves both.
      "mmdebstrap", "--variant=minbase", "--mode=auto", "--components=main",
      "--include=" + join(in.packages, ","),
      // Man pages, docs and translations are dead weight in every sandbox;
      // the settings also stay in the image for packages installed later.
      "--dpkgopt=path-exclude=/usr/share/man/*", "--dpkgopt=path-exclude=/usr/share/doc/*",
      "--dpkgopt=path-include=/usr/share/doc/*/copyright",
      "--dpkgopt=path-exclude=/usr/share/locale/*",
      // The hook's text, not its file: in unshare mode the hook runs as the
      // namespace's root, a sub-uid that cannot enter the user's 0700 cache
      // (customize.sh stays beside the log for reading).
      "--customize-hook=" + in.hook, kRelease, tarball, sources};
  if (auto r = run_logged(argv, log); !r) return r.error().wrap("mmdebstrap");
  report(progress, "Debian root file system ready in " + fmt_seconds(seconds_since(t0)));

  report(progress, "Packing the root file system into an ext4 image...");
  t0 = std::chrono::steady_clock::now();
  // Zeroing inode tables and journal now (see pack_command) costs ~0.3 GiB
  // more real disk for 20 GiB and no mkfs time; lazy init would cost guest
  // CPU and I/O in every sandbox's first minutes instead.
  if (auto r = make_dirs(rootfs); !r) return r;
  argv = pack_command(tarball, rootfs, image, ::geteuid() == 0);
  if (auto r = run_logged(argv, log); !r)
    return r.error().wrap("packing the ext4 image (tar, mkfs.ext4 -d)");
  report(progress, "ext4 image written in " + fmt_seconds(seconds_since(t0)));
  // The tree and the tarball are in the image now; they would only triple
  // the cache's size.
  if (auto r = remove_build_dir(rootfs); !r) return r;
  if (::unlink(tarball.c_str()) < 0) return errno_error("remove " + tarball);
  return write_file_atomic(work + "/" + kMarker, in.id + "\n");
}

}  // namespace

std::vector<std::string> shell_template_packages() {
  return {"bash", "sudo", "git", "curl", "ca-certificates", "procps", "iproute2", "python3",
          "docker.io", "iptables", "e2fsprogs", "less", "nano", "openssh-client", "xz-utils",
          // Agents routinely build native code (node-gyp, pip wheels). It
          // costs ~20 s and ~0.25 GiB once per template, measured.
          "build-essential"};
}

std::string shell_template_hook_script() {
  // Runs outside the chroot with the root directory as $1; commands that
  // need the target's own tools (useradd, apt-get) run through chroot.
  return R"SH(#!/bin/sh
set -eu
root="$1"
chroot "$root" sh -eu -c '
getent group docker >/dev/null || groupadd --system docker
getent group 1000 >/dev/null || groupadd --gid 1000 agent
if ! getent passwd agent >/dev/null; then
  useradd --uid 1000 --gid 1000 --create-home --home-dir /home/agent \
          --shell /bin/bash --groups sudo,docker agent
fi
'
mkdir -p "$root/etc/sudoers.d"
printf 'agent ALL=(ALL:ALL) NOPASSWD: ALL\n' > "$root/etc/sudoers.d/agent"
chmod 0440 "$root/etc/sudoers.d/agent"
printf 'sbx\n' > "$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tsbx\n::1\tlocalhost ip6-localhost ip6-loopback\n' > "$root/etc/hosts"
# The agent answers DNS on 127.0.0.1 inside the guest.
rm -f "$root/etc/resolv.conf"
printf 'nameserver 127.0.0.1\n' > "$root/etc/resolv.conf"
# Every sandbox must get its own machine id at boot.
: > "$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"
chroot "$root" apt-get clean
)SH";
}

Result<TemplateArtifacts> ensure_shell_template(const std::string& cache_dir, ProgressFn progress) {
  auto in = shell_inputs();
  if (!in) return in.error().wrap("template 'shell'");
  std::string tdir = templates_dir(cache_dir);
  if (auto r = make_dirs(tdir); !r) return r.error();
  auto abs = absolute_path(tdir);
  if (!abs) return abs.error();
  tdir = *abs;
  std::string name = template_dir_name("shell", in->id);
  std::string dir = tdir + "/" + name;
  if (auto t = load_cached(dir, in->id); t) return t;

  if (::geteuid() != 0) {
    if (auto r = check_rootless_build(); !r) return r.error().wrap("template 'shell'");
  }

  auto lock = FileLock::acquire(tdir + "/." + name + ".lock");
  if (!lock) return lock.error();
  if (auto t = load_cached(dir, in->id); t) return t;

  // Inside the cache dir (same file system) so the final rename is atomic.
  std::string work = tdir + "/.build-" + name;
  if (auto r = remove_build_dir(work); !r) return r.error();
  if (auto r = remove_build_dir(dir); !r) return r.error();
  if (auto r = make_dirs(work); !r) return r.error();
  auto built = build(*in, work, progress);
  if (!built) {
    auto e = built.error().wrap("build template 'shell'");
    // The log outlives the half-made tree, beside the cache entries, so the
    // user can read all of it and the next build starts clean.
    std::string kept = tdir + "/" + name + ".failed.log";
    if (::rename((work + "/build.log").c_str(), kept.c_str()) == 0)
      e.message += "\nfull build log: " + kept;
    if (auto r = remove_build_dir(work); !r) e.message += " (" + r.error().message + ")";
    return e;
  }
  (void)::unlink((tdir + "/" + name + ".failed.log").c_str());
  if (::rename(work.c_str(), dir.c_str()) < 0) {
    auto e = errno_error("rename " + work);
    (void)remove_build_dir(work);
    return e;
  }
  report(progress, "Template 'shell' ready.");
  return load_cached(dir, in->id);
}

}  // namespace sbx::image
