#include "agent/guest_init.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <algorithm>
#include <cstring>
#include <thread>

#include "agent/docker_storage.h"
#include "agent/egress.h"
#include "agent/guest_network.h"
#include "agent/uid_remap.h"
#include "agent/user_db.h"
#include "base/files.h"
#include "base/strings.h"

namespace sbx::agent {

namespace {

using namespace std::chrono_literals;

constexpr const char* kNewRoot = "/newroot";
constexpr const char* kModulesList = "/etc/sbx/modules";
constexpr const char* kPortName = "sbx.agent";
constexpr const char* kAgentUser = "agent";
constexpr const char* kDockerRoot = "/var/lib/docker";

std::string errstr() { return strerror(errno); }

// mount(2) that tolerates "already mounted" (EBUSY) and logs other failures.
bool do_mount(const Console& con, const char* src, const char* target, const char* type,
              unsigned long flags, const char* data) {
  mkdir(target, 0755);
  if (mount(src, target, type, flags, data) == 0 || errno == EBUSY) return true;
  con.log(std::string("mount ") + type + " on " + target + " failed: " + errstr());
  return false;
}

// Deletes everything on the initramfs (the directory open as `fd`) without
// crossing into other file systems, as switch_root does, to free its memory.
void remove_same_fs(int fd, dev_t dev) {
  DIR* d = fdopendir(fd);
  if (!d) {
    close(fd);
    return;
  }
  while (dirent* e = readdir(d)) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    struct stat st;
    if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) continue;
    if (st.st_dev != dev) continue;  // a mount point (/newroot)
    if (S_ISDIR(st.st_mode)) {
      int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
      if (sub >= 0) remove_same_fs(sub, dev);
      unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR);
    } else {
      unlinkat(dirfd(d), e->d_name, 0);
    }
  }
  closedir(d);
}

uint16_t port_of(const std::string& endpoint) {
  auto p = parse_uint(endpoint.substr(endpoint.rfind(':') + 1));
  return p && *p <= 65535 ? static_cast<uint16_t>(*p) : 0;
}

}  // namespace

void GuestInit::mount_early() {
  do_mount(console_, "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
  do_mount(console_, "sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
  do_mount(console_, "devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
  // Without /dev/console in the initramfs the kernel starts us with no
  // stdio; now that devtmpfs is there, attach to the console.
  if (fcntl(STDERR_FILENO, F_GETFD) < 0 || fcntl(STDOUT_FILENO, F_GETFD) < 0) {
    int c = open("/dev/console", O_RDWR | O_NOCTTY);
    if (c >= 0) {
      for (int i = 0; i < 3; ++i)
        if (fcntl(i, F_GETFD) < 0 && c != i) dup2(c, i);
      if (c > 2) close(c);
    }
  }
}

void GuestInit::load_modules() {
  auto list = read_file(kModulesList);
  if (!list) {
    console_.log(std::string("no ") + kModulesList + "; loading no modules");
    return;
  }
  int loaded = 0, failed = 0;
  for (auto& raw : split(*list, '\n')) {
    std::string path = trim(raw);
    if (path.empty() || path[0] == '#') continue;
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      console_.log("module " + path + ": " + errstr());
      ++failed;
      continue;
    }
    long r = syscall(SYS_finit_module, fd, "", 0);
    int e = errno;
    close(fd);
    if (r == 0 || e == EEXIST) {
      ++loaded;
    } else {
      console_.log("module " + path + ": " + strerror(e));
      ++failed;
    }
  }
  console_.log("modules loaded: " + std::to_string(loaded) +
               (failed ? ", failed: " + std::to_string(failed) : ""));
}

Result<void> GuestInit::mount_root() {
  // virtio_blk probes asynchronously after its module loads.
  auto deadline = std::chrono::steady_clock::now() + 5s;
  struct stat st;
  while (stat(cfg_.root.c_str(), &st) < 0 || !S_ISBLK(st.st_mode)) {
    if (std::chrono::steady_clock::now() >= deadline)
      return err("root disk " + cfg_.root + " did not appear within 5 s");
    std::this_thread::sleep_for(10ms);
  }
  mkdir(kNewRoot, 0755);
  if (mount(cfg_.root.c_str(), kNewRoot, "ext4", MS_NOATIME, "") < 0)
    return errno_error("mount " + cfg_.root + " (ext4) on " + kNewRoot);
  console_.log("root mounted (" + cfg_.root + ")");
  return ok();
}

void GuestInit::mount_workspace() {
  if (!cfg_.has_workspace()) {
    console_.log("no workspace requested");
    return;
  }
  std::string target = std::string(kNewRoot) + cfg_.ws_path;
  if (auto r = make_dirs(target); !r) {
    console_.log("workspace: " + r.error().message);
    return;
  }
  int rc;
  if (cfg_.ws_fs == "virtiofs") {
    rc = mount(cfg_.ws_tag.c_str(), target.c_str(), "virtiofs", 0, "");
  } else {
    // cache=mmap: no page cache for regular reads, so edits made on the
    // host are seen at once (no stale reads), while mmap still works.
    rc = mount(cfg_.ws_tag.c_str(), target.c_str(), "9p", 0,
               "trans=virtio,version=9p2000.L,msize=524288,access=client,cache=mmap");
  }
  if (rc < 0) {
    console_.log("WORKSPACE MOUNT FAILED: " + cfg_.ws_fs + " tag '" + cfg_.ws_tag +
                 "' on " + cfg_.ws_path + ": " + errstr());
    return;
  }
  ws_mountpoint_ = cfg_.ws_path;
  console_.log("workspace mounted (" + cfg_.ws_fs + ") at " + cfg_.ws_path);
}

Result<void> GuestInit::switch_root() {
  int oldroot = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  for (const char* m : {"/dev", "/proc", "/sys"}) {
    std::string target = std::string(kNewRoot) + m;
    mkdir(target.c_str(), 0755);
    if (mount(m, target.c_str(), nullptr, MS_MOVE, nullptr) < 0) {
      console_.log(std::string("move ") + m + ": " + errstr());
      umount2(m, MNT_DETACH);
    }
  }
  if (chdir(kNewRoot) < 0) return errno_error(std::string("chdir ") + kNewRoot);
  // Free the initramfs only if it really is one (ramfs/tmpfs root).
  struct statfs sfs;
  struct stat st;
  if (oldroot >= 0 && fstatfs(oldroot, &sfs) == 0 &&
      (sfs.f_type == RAMFS_MAGIC || sfs.f_type == TMPFS_MAGIC) && fstat(oldroot, &st) == 0) {
    remove_same_fs(oldroot, st.st_dev);  // takes ownership of oldroot
  } else if (oldroot >= 0) {
    close(oldroot);
  }
  if (mount(".", "/", nullptr, MS_MOVE, nullptr) < 0) return errno_error("move root");
  if (chroot(".") < 0) return errno_error("chroot");
  if (chdir("/") < 0) return errno_error("chdir /");
  return ok();
}

void GuestInit::setup_dev_and_run() {
  do_mount(console_, "devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
           "gid=5,mode=620,ptmxmode=666");
  // Use this devpts instance's ptmx for every pty (docker and login tools
  // expect /dev/ptmx -> pts/ptmx).
  unlink("/dev/ptmx");
  symlink("pts/ptmx", "/dev/ptmx");
  do_mount(console_, "shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
  do_mount(console_, "tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=755");
  mkdir("/run/lock", 01777);
  chmod("/run/lock", 01777);
  do_mount(console_, "cgroup2", "/sys/fs/cgroup", "cgroup2",
           MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
  symlink("/proc/self/fd", "/dev/fd");
  symlink("/proc/self/fd/0", "/dev/stdin");
  symlink("/proc/self/fd/1", "/dev/stdout");
  symlink("/proc/self/fd/2", "/dev/stderr");
}

void GuestInit::setup_network() {
  // The VM has no NIC. Bringing lo up makes the kernel assign 127.0.0.1/8
  // itself; then the egress plumbing (dummy sbx0 + rules, guest_network.h),
  // before dockerd adds its own rules.
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) {
    console_.log("lo: socket: " + errstr());
    return;
  }
  ifreq ifr{};
  strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) console_.log("lo: up: " + errstr());
  } else {
    console_.log("lo: " + errstr());
  }
  close(s);
  const auto egress = EgressConfig::pid1_defaults();
  egress_redirect_ = setup_egress_network(console_, port_of(egress.transparent),
                                          port_of(egress.dns));
}

void GuestInit::setup_hostname() {
  std::string name = cfg_.name.empty() ? "sbx" : cfg_.name;
  if (sethostname(name.c_str(), name.size()) < 0)
    console_.log("sethostname: " + errstr());
  (void)write_file_atomic("/etc/hostname", name + "\n");
  std::string hosts;
  if (auto cur = read_file("/etc/hosts")) {
    for (auto& line : split(*cur, '\n')) {
      if (starts_with(trim(line), "127.0.1.1")) continue;
      if (!line.empty()) hosts += line + "\n";
    }
  }
  if (hosts.find("localhost") == std::string::npos) hosts = "127.0.0.1\tlocalhost\n" + hosts;
  hosts += "127.0.1.1\t" + name + "\n";
  if (auto r = write_file_atomic("/etc/hosts", hosts); !r)
    console_.log("/etc/hosts: " + r.error().message);
}

void GuestInit::map_agent_uid() {
  if (!cfg_.uid || *cfg_.uid == 0) return;
  auto passwd = read_file("/etc/passwd");
  auto group = read_file("/etc/group");
  if (!passwd || !group) {
    console_.log("uid mapping: cannot read /etc/passwd or /etc/group");
    return;
  }
  auto r = remap_user_text(*passwd, *group, kAgentUser, *cfg_.uid, cfg_.gid);
  if (!r) {
    console_.log("uid mapping: " + r.error().message);
    return;
  }
  if (!r->note.empty()) console_.log("uid mapping: " + r->note);
  if (!r->changed) return;
  // Modes of the originals are kept (0644 for both in Debian).
  if (auto w = write_file_atomic("/etc/passwd", r->passwd, 0644); !w) {
    console_.log("uid mapping: " + w.error().message);
    return;
  }
  if (auto w = write_file_atomic("/etc/group", r->group, 0644); !w)
    console_.log("uid mapping: " + w.error().message);
  UserDb db = UserDb::load();
  auto u = db.find_user(kAgentUser);
  std::string home = u && !u->home.empty() ? u->home : "/home/agent";
  if (is_directory(home)) {
    if (auto c = rechown_tree(home, r->old_uid, r->old_gid, r->new_uid, r->new_gid); !c)
      console_.log("uid mapping: " + c.error().message);
  }
  console_.log("user agent: uid " + std::to_string(r->old_uid) + " -> " +
               std::to_string(r->new_uid) + ", gid " + std::to_string(r->old_gid) + " -> " +
               std::to_string(r->new_gid));
}

void GuestInit::prepare_docker() {
  std::string dockerd = find_dockerd();
  if (dockerd.empty()) {
    console_.log("docker: no dockerd in this template; Docker disabled");
    return;
  }
  if (!cfg_.docker_disk.empty()) {
    if (auto r = mount_docker_disk(console_, cfg_.docker_disk, kDockerRoot); !r) {
      // Docker still works from the root disk; only the space differs.
      console_.log("docker: " + r.error().message + "; using the root disk's " + kDockerRoot);
    } else {
      docker_mounted_ = true;
      console_.log(std::string("docker: ") + cfg_.docker_disk + " mounted on " + kDockerRoot);
    }
  }
  // dockerd would set it too; doing it here keeps its startup shorter and
  // its log free of the warning.
  if (auto r = write_sysctl("/proc/sys/net/ipv4/ip_forward", "1\n"); !r)
    console_.log("docker: " + r.error().message);
  DockerOptions o;
  o.dockerd = dockerd;
  o.socket_activation = cfg_.docker_mode == "socket";
  o.proxy = cfg_.proxy;
  UserDb db = UserDb::load();
  for (auto& g : db.groups())
    if (g.name == "docker") o.socket_gid = g.gid;
  mkdir("/var/log", 0755);
  docker_ = std::move(o);
}

void GuestInit::unmount_docker() {
  // Container overlays and netns bind mounts live below /var/lib/docker
  // (and /run/docker): unmount deepest first, lazily if still busy.
  auto info = read_file("/proc/self/mountinfo");
  if (!info) return;
  std::vector<std::string> targets;
  for (auto& line : split(*info, '\n')) {
    auto f = split(line, ' ');
    if (f.size() < 5) continue;
    const std::string& mp = f[4];
    if (starts_with(mp, kDockerRoot) || starts_with(mp, "/run/docker"))
      targets.push_back(mp);
  }
  std::sort(targets.begin(), targets.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  for (auto& t : targets)
    if (umount2(t.c_str(), 0) < 0) umount2(t.c_str(), MNT_DETACH);
  if (!targets.empty())
    console_.log("docker: unmounted " + std::to_string(targets.size()) + " mount(s)");
}

Result<Fd> GuestInit::open_agent_port() {
  auto deadline = std::chrono::steady_clock::now() + 5s;
  for (;;) {
    if (auto dirs = list_dir("/sys/class/virtio-ports")) {
      for (auto& d : *dirs) {
        auto name = read_file("/sys/class/virtio-ports/" + d + "/name");
        if (!name || trim(*name) != kPortName) continue;
        std::string dev = "/dev/" + d;
        int fd = open(dev.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) return errno_error("open " + dev);
        console_.log("agent port " + dev);
        return Fd(fd);
      }
    }
    if (std::chrono::steady_clock::now() >= deadline)
      return err(std::string("virtio-serial port '") + kPortName + "' not found");
    std::this_thread::sleep_for(20ms);
  }
}

Result<Fd> GuestInit::boot() {
  mount_early();
  console_.log("init started");
  auto cmdline = read_file("/proc/cmdline");
  std::vector<std::string> warnings;
  cfg_ = parse_boot_config(cmdline ? *cmdline : "", &warnings);
  for (auto& w : warnings) console_.log("cmdline: " + w);
  load_modules();
  if (auto r = mount_root(); !r) return r.error();
  mount_workspace();
  if (auto r = switch_root(); !r) return r.error().wrap("switch root");
  setup_dev_and_run();
  setup_network();
  setup_hostname();
  map_agent_uid();
  prepare_docker();
  auto port = open_agent_port();
  if (!port) return port.error();
  console_.log("ready");
  return port;
}

void GuestInit::power_off() {
  sync();
  // With `quiet`, console output written right before the VM stops can be
  // lost: drain the serial line first.
  tcdrain(STDERR_FILENO);
  reboot(RB_AUTOBOOT);
  // Still here (no privilege?): PID 1 must never exit.
  for (;;) pause();
}

void GuestInit::fatal(const std::string& msg) {
  console_.log("FATAL: " + msg + "; stopping the VM");
  power_off();
}

void GuestInit::shutdown() {
  console_.log("shutting down");
  auto reap_until = [](std::chrono::steady_clock::time_point deadline) {
    for (;;) {
      int st;
      pid_t p = waitpid(-1, &st, WNOHANG);
      if (p < 0 && errno == ECHILD) return true;  // nobody left
      if (p > 0) continue;
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(20ms);
    }
  };
  kill(-1, SIGTERM);
  if (!reap_until(std::chrono::steady_clock::now() + 3s)) {
    kill(-1, SIGKILL);
    reap_until(std::chrono::steady_clock::now() + 1s);
  }
  sync();
  unmount_docker();
  if (!ws_mountpoint_.empty() && umount2(ws_mountpoint_.c_str(), 0) < 0)
    umount2(ws_mountpoint_.c_str(), MNT_DETACH);
  if (mount(nullptr, "/", nullptr, MS_REMOUNT | MS_RDONLY, nullptr) < 0)
    console_.log("remount / read-only: " + errstr());
  console_.log("powering off");
  power_off();
}

}  // namespace sbx::agent
