#include "vm/qemu_command.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace sbx::vm {
namespace {

VmConfig base_config() {
  VmConfig c;
  c.accel = Accel::kTcg;
  c.cpus = 2;
  c.memory_mib = 1024;
  c.kernel = "/k/vmlinux";
  c.initrd = "/k/initrd.cpio.gz";
  c.cmdline = "sbx.ws=/home/u/p";
  c.tsc_khz = 2596132;
  c.disk = "/s/disk.qcow2";
  c.agent_socket = "/r/agent.sock";
  c.qmp_socket = "/r/qmp.sock";
  c.console_log = "/s/console.log";
  c.pid_file = "/r/qemu.pid";
  return c;
}

// The value following `flag`, or "" when absent.
std::string after(const std::vector<std::string>& a, const std::string& flag,
                  int nth = 0) {
  for (size_t i = 0; i + 1 < a.size(); ++i)
    if (a[i] == flag && nth-- == 0) return a[i + 1];
  return "";
}

bool has(const std::vector<std::string>& a, const std::string& s) {
  return std::find(a.begin(), a.end(), s) != a.end();
}

TEST(QemuCommand, NeverANetworkDevice) {
  for (auto fs : {Workspace::Fs::k9p, Workspace::Fs::kVirtiofs}) {
    VmConfig c = base_config();
    c.workspace = Workspace{"/home/u/p", "ws", fs, "/r/vfs.sock"};
    auto a = qemu_argv(c);
    EXPECT_TRUE(has(a, "-nodefaults"));
    for (const auto& s : a) {
      EXPECT_NE(s, "-netdev");
      EXPECT_NE(s, "-nic");
      EXPECT_NE(s, "-net");
      EXPECT_EQ(s.find("virtio-net"), std::string::npos) << s;
    }
  }
}

TEST(QemuCommand, BasicShape) {
  auto a = qemu_argv(base_config());
  EXPECT_EQ(a[0], "qemu-system-x86_64");
  EXPECT_EQ(after(a, "-M"), "microvm,accel=tcg");
  EXPECT_EQ(after(a, "-cpu"), "max");
  EXPECT_EQ(after(a, "-smp"), "2");
  EXPECT_EQ(after(a, "-m"), "1024");
  EXPECT_EQ(after(a, "-kernel"), "/k/vmlinux");
  EXPECT_EQ(after(a, "-initrd"), "/k/initrd.cpio.gz");
  EXPECT_EQ(after(a, "-append"),
            "console=ttyS0 panic=-1 quiet tsc_early_khz=2596132 tsc=reliable "
            "sbx.ws=/home/u/p");
  EXPECT_EQ(after(a, "-chardev"), "file,id=con,path=/s/console.log");
  EXPECT_EQ(after(a, "-serial"), "chardev:con");
  EXPECT_EQ(after(a, "-drive"),
            "id=root,file=/s/disk.qcow2,format=qcow2,if=none,"
            "cache=writeback,discard=unmap,detect-zeroes=unmap");
  EXPECT_EQ(after(a, "-qmp"), "unix:/r/qmp.sock,server=on,wait=off");
  EXPECT_EQ(after(a, "-pidfile"), "/r/qemu.pid");
  EXPECT_EQ(after(a, "-sandbox"),
            "on,obsolete=deny,elevateprivileges=deny,spawn=deny,"
            "resourcecontrol=deny");
  EXPECT_TRUE(has(a, "virtserialport,chardev=agent,name=sbx.agent"));
  EXPECT_TRUE(has(a, "socket,id=agent,path=/r/agent.sock,server=on,wait=off"));
  EXPECT_TRUE(has(a, "-no-reboot"));
  EXPECT_TRUE(has(a, "-no-user-config"));
  EXPECT_EQ(after(a, "-fsdev"), "");  // no workspace configured
}

TEST(QemuCommand, KvmUsesHostCpuAndNoTscWhenUnknown) {
  VmConfig c = base_config();
  c.accel = Accel::kKvm;
  c.tsc_khz = 0;
  c.seccomp = false;
  auto a = qemu_argv(c);
  EXPECT_EQ(after(a, "-M"), "microvm,accel=kvm");
  EXPECT_EQ(after(a, "-cpu"), "host");
  EXPECT_EQ(after(a, "-append").find("tsc_early_khz"), std::string::npos);
  EXPECT_EQ(after(a, "-append").find("tsc=reliable"), std::string::npos);
  EXPECT_FALSE(has(a, "-sandbox"));
  c.cpu_model = "EPYC";
  EXPECT_EQ(after(qemu_argv(c), "-cpu"), "EPYC");
}

TEST(QemuCommand, NinePWorkspace) {
  VmConfig c = base_config();
  c.workspace = Workspace{"/home/u/p", "ws", Workspace::Fs::k9p, ""};
  auto a = qemu_argv(c);
  EXPECT_EQ(after(a, "-fsdev"), "local,id=ws,path=/home/u/p,security_model=none");
  EXPECT_TRUE(has(a, "virtio-9p-device,fsdev=ws,mount_tag=ws"));
  EXPECT_EQ(after(a, "-M"), "microvm,accel=tcg");
  EXPECT_FALSE(has(a, "vhost-user-fs-device,chardev=vfs,tag=ws"));
}

TEST(QemuCommand, VirtiofsWorkspace) {
  VmConfig c = base_config();
  c.workspace = Workspace{"/home/u/p", "ws", Workspace::Fs::kVirtiofs,
                          "/r/vfs.sock"};
  auto a = qemu_argv(c);
  EXPECT_EQ(after(a, "-M"), "microvm,accel=tcg,memory-backend=mem");
  EXPECT_EQ(after(a, "-object"),
            "memory-backend-memfd,id=mem,size=1024M,share=on");
  EXPECT_EQ(after(a, "-global"), "virtio-mmio.force-legacy=false");
  EXPECT_TRUE(has(a, "socket,id=vfs,path=/r/vfs.sock"));
  EXPECT_TRUE(has(a, "vhost-user-fs-device,chardev=vfs,tag=ws"));
  EXPECT_EQ(after(a, "-fsdev"), "");
}

TEST(QemuCommand, CommasInPathsAreDoubled) {
  EXPECT_EQ(qemu_opt_escape("a,b,,c"), "a,,b,,,,c");
  EXPECT_EQ(qemu_opt_escape("plain"), "plain");
  VmConfig c = base_config();
  c.disk = "/s/a,b/disk.qcow2";
  c.console_log = "/s/a,b/console.log";
  c.qmp_socket = "/r/x,y/qmp.sock";
  c.agent_socket = "/r/x,y/agent.sock";
  c.workspace = Workspace{"/home/u/my,proj", "ws", Workspace::Fs::k9p, ""};
  auto a = qemu_argv(c);
  EXPECT_EQ(after(a, "-fsdev"),
            "local,id=ws,path=/home/u/my,,proj,security_model=none");
  EXPECT_EQ(after(a, "-chardev"), "file,id=con,path=/s/a,,b/console.log");
  EXPECT_EQ(after(a, "-qmp"), "unix:/r/x,,y/qmp.sock,server=on,wait=off");
  EXPECT_EQ(after(a, "-drive").substr(0, 32), "id=root,file=/s/a,,b/disk.qcow2,");
  EXPECT_TRUE(has(a, "socket,id=agent,path=/r/x,,y/agent.sock,server=on,wait=off"));
  // -kernel/-append take whole strings, not options: no escaping there.
  c.kernel = "/k,1/vmlinux";
  EXPECT_EQ(after(qemu_argv(c), "-kernel"), "/k,1/vmlinux");
}

TEST(QemuCommand, VirtiofsdArgvEscapesFuseOptions) {
  EXPECT_EQ(fuse_opt_escape("a,b\\c"), "a\\,b\\\\c");
  VmConfig c = base_config();
  EXPECT_TRUE(virtiofsd_argv(c, "/v").empty());
  c.workspace = Workspace{"/home/u/my,proj", "ws", Workspace::Fs::kVirtiofs,
                          "/r/a,b/vfs.sock"};
  EXPECT_EQ(virtiofsd_argv(c, "/v"),
            (std::vector<std::string>{"/v", "--socket-path=/r/a,b/vfs.sock",
                                      "-o", "source=/home/u/my\\,proj", "-o",
                                      "cache=auto", "-o", "timeout=0", "-o",
                                      "modcaps=-mknod"}));
}

TEST(QemuCommand, ValidateRejectsBadConfigs) {
  VmConfig c = base_config();
  EXPECT_TRUE(c.validate().ok());
  EXPECT_EQ(c.qemu_log(), "/s/qemu.log");
  VmConfig rel = c;
  rel.disk = "disk.qcow2";
  EXPECT_FALSE(rel.validate().ok());
  VmConfig nocpu = c;
  nocpu.cpus = 0;
  EXPECT_FALSE(nocpu.validate().ok());
  VmConfig vfs = c;
  vfs.workspace = Workspace{"/w", "ws", Workspace::Fs::kVirtiofs, ""};
  EXPECT_FALSE(vfs.validate().ok());
  VmConfig relws = c;
  relws.workspace = Workspace{"w", "ws", Workspace::Fs::k9p, ""};
  EXPECT_FALSE(relws.validate().ok());
}

}  // namespace
}  // namespace sbx::vm
