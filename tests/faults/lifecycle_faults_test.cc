// Failures of the processes around a sandbox: sandboxd killed with SIGKILL,
// QEMU killed under a running sandbox, concurrent CLI calls, stale files.
// Nothing of the user's may be lost, and the state must say what happened.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/files.h"
#include "base/strings.h"
#include "harness/sandbox_suite.h"

namespace sbx::testing {
namespace {

using namespace std::chrono_literals;

class FaultsTest : public SandboxSuite<FaultsTest> {
 public:
  // Short enough that the silent-boot test does not wait long, long
  // enough that a slow normal boot is not restarted (harmless if it is).
  static SandboxOptions options() {
    return {.name = "f1",
            .workspace = "faults-ws",
            .create_flags = {"--memory", "768m"},
            .env = {{"SBX_SILENT_BOOT_TIMEOUT", "8"}}};
  }

 protected:
  static int daemon_pid() {
    auto p = read_file(env().runtime_dir() + "/sandboxd.pid");
    return p ? std::atoi(p->c_str()) : 0;
  }
  static nlohmann::json sandbox_json(const std::string& name) {
    auto r = sbx({"ls", "--json"});
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    if (j.is_array())
      for (auto& s : j)
        if (s["name"] == name) return s;
    return nullptr;
  }
};

TEST_F(FaultsTest, SandboxSurvivesSigkillOfSandboxd) {
  ASSERT_EQ(sbx({"exec", "f1", "--", "sh", "-c", "echo before > /root/kept && sync"}).code, 0);
  int pid = daemon_pid();
  ASSERT_GT(pid, 0);
  auto qemu_before = qemu_pids_matching(env().root());
  ASSERT_EQ(qemu_before.size(), 1u);
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  for (int i = 0; i < 100 && ::kill(pid, 0) == 0; ++i) std::this_thread::sleep_for(50ms);
  // The VM did not notice.
  EXPECT_EQ(qemu_pids_matching(env().root()), qemu_before);
  // The next call starts a new daemon over the stale socket and pid file,
  // which re-adopts the running VM.
  auto s = sandbox_json("f1");
  ASSERT_FALSE(s.is_null());
  EXPECT_EQ(s["status"], "running") << s.dump();
  EXPECT_NE(daemon_pid(), pid);
  auto r = sbx({"exec", "f1", "--", "cat", "/root/kept"});
  ASSERT_EQ(r.code, 0) << r.all();
  EXPECT_EQ(r.out, "before\n");
  EXPECT_EQ(qemu_pids_matching(env().root()), qemu_before) << "the VM was restarted, not adopted";
}

TEST_F(FaultsTest, DeadQemuIsReportedAndRunBringsItBack) {
  ASSERT_EQ(sbx({"exec", "f1", "--", "sh", "-c", "echo survives > /root/disk-file && sync"}).code,
            0);
  auto q = qemu_pids_matching(env().root());
  ASSERT_EQ(q.size(), 1u);
  ASSERT_EQ(::kill(q[0], SIGKILL), 0);
  nlohmann::json s;
  for (int i = 0; i < 100; ++i) {
    s = sandbox_json("f1");
    if (!s.is_null() && s["status"] == "failed") break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(s["status"], "failed") << s.dump();
  std::string why = s["error"];
  EXPECT_NE(why.find("exited"), std::string::npos) << why;
  EXPECT_NE(why.find("console tail"), std::string::npos) << why;
  // Starting it again (exec starts a stopped or failed sandbox) keeps the disk.
  auto r = sbx({"exec", "f1", "--", "cat", "/root/disk-file"});
  ASSERT_EQ(r.code, 0) << r.all();
  EXPECT_EQ(r.out, "survives\n");
  EXPECT_EQ(sandbox_json("f1")["status"], "running");
}

TEST_F(FaultsTest, ConcurrentExecsAllSucceed) {
  std::vector<std::future<CmdResult>> fs;
  for (int i = 0; i < 8; ++i)
    fs.push_back(std::async(std::launch::async, [i] {
      return sbx({"exec", "f1", "--", "sh", "-c", "echo $((" + std::to_string(i) + "*3))"});
    }));
  for (int i = 0; i < 8; ++i) {
    auto r = fs[i].get();
    EXPECT_EQ(r.code, 0) << r.all();
    EXPECT_EQ(r.out, std::to_string(i * 3) + "\n");
  }
}

TEST_F(FaultsTest, ConcurrentCreatesOfOneNameYieldOneSandbox) {
  std::string ws = env().make_workspace("race-ws");
  std::vector<std::future<CmdResult>> fs;
  for (int i = 0; i < 3; ++i)
    fs.push_back(std::async(std::launch::async, [&] {
      return sbx({"create", "--name", "race", "--memory", "512m", "shell", ws});
    }));
  int wins = 0;
  for (auto& f : fs) {
    auto r = f.get();
    if (r.code == 0) {
      ++wins;
    } else {
      EXPECT_NE(r.err.find("already exists"), std::string::npos) << r.all();
    }
  }
  EXPECT_EQ(wins, 1);
  EXPECT_EQ(sbx({"rm", "-f", "race"}).code, 0);
}

TEST_F(FaultsTest, ABootThatStaysSilentIsRestarted) {
  // Stands in for a kernel that hangs before init: the new QEMU is stopped
  // (SIGSTOP) as soon as it exists, so its console never shows the agent.
  std::string ws = env().make_workspace("silent-ws");
  auto create = std::async(std::launch::async, [ws] {
    return sbx({"create", "--name", "silent", "--memory", "768m", "shell", ws});
  });
  // Once QEMU is up (its QMP socket exists), as a hung kernel's would be;
  // the kernel needs about a second more to reach the agent.
  int stopped = 0;
  std::string qmp = env().runtime_dir() + "/vms/silent/qmp.sock";
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (stopped == 0 && std::chrono::steady_clock::now() < deadline) {
    if (path_exists(qmp))
      for (int pid : qemu_pids_matching("sbx-silent")) {
        ::kill(pid, SIGSTOP);
        stopped = pid;
      }
    std::this_thread::sleep_for(2ms);
  }
  ASSERT_NE(stopped, 0) << "no QEMU appeared for the new sandbox";
  auto con = read_file(env().state_dir() + "/sandboxes/silent/console.log");
  EXPECT_EQ(con.ok() ? con->find("sbx-agent:") : std::string::npos, std::string::npos)
      << "QEMU was stopped too late to stand in for a silent boot";
  auto r = create.get();
  ASSERT_EQ(r.code, 0) << r.all();
  auto now = qemu_pids_matching("sbx-silent");
  ASSERT_EQ(now.size(), 1u);
  EXPECT_NE(now[0], stopped) << "the silent QEMU was not replaced";
  EXPECT_EQ(sbx({"exec", "silent", "--", "true"}).code, 0);
  auto log = read_file(env().state_dir() + "/sandboxd.log");
  ASSERT_TRUE(log.ok());
  EXPECT_NE(log->find("did not reach init"), std::string::npos);
  EXPECT_EQ(sbx({"rm", "-f", "silent"}).code, 0);
}

TEST_F(FaultsTest, DaemonLogsToItsStateDirectory) {
  auto log = read_file(env().state_dir() + "/sandboxd.log");
  ASSERT_TRUE(log.ok());
  EXPECT_NE(log->find("sandbox f1 is running"), std::string::npos);
}

}  // namespace
}  // namespace sbx::testing
