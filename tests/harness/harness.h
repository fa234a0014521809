// Helpers for black-box tests: run the real sbx CLI in an isolated state
// directory (shared template cache), capture its output, clean up VMs.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "base/files.h"
#include "base/result.h"

namespace sbx::testing {

struct CmdResult {
  int code = -1;
  std::string out;
  std::string err;
  std::string all() const { return out + err; }
};

/// How long one command may run before the harness kills it: far above
/// any slow TCG boot or build, so that only a hung sbx reaches it.
inline constexpr std::chrono::seconds kCommandTimeout{20 * 60};

/// Runs a program with arguments; stdin is /dev/null unless `input` is set.
/// A program still running after `timeout` is killed: its code is then -1
/// and `err` says so (a hung sbx fails the test instead of hanging it).
CmdResult run(const std::vector<std::string>& argv, const std::string& input = "",
              std::chrono::milliseconds timeout = kCommandTimeout);
/// The sbx binary under test: $SBX_TEST_CLI when set (the normal-user runner
/// copies the binaries somewhere that user can reach), else this build's.
std::string sbx_cli_path();
/// Runs `sbx ARGS...` (with run()'s time limit).
CmdResult sbx(const std::vector<std::string>& args, const std::string& input = "");

/// An isolated sbx installation for one test suite: fresh state and runtime
/// directories (set in the environment for every child), the user's shared
/// cache so templates are built once. The destructor stops the daemon and
/// kills any QEMU left behind.
class SbxEnv {
 public:
  SbxEnv();
  ~SbxEnv();
  const std::string& root() const { return dir_.path(); }
  std::string state_dir() const { return dir_.path() + "/state"; }
  std::string runtime_dir() const { return dir_.path() + "/run"; }
  /// A fresh workspace directory under this env.
  std::string make_workspace(const std::string& name);

 private:
  TempDir dir_;
};

/// A plain HTTP/1.0 GET to 127.0.0.1:port; returns the body (status 200
/// only) or an error naming what went wrong, also when the whole exchange
/// took longer than `timeout`.
Result<std::string> http_get(uint16_t port, const std::string& path = "/",
                             std::chrono::milliseconds timeout = std::chrono::seconds(120));
/// Whether a TCP connect to 127.0.0.1:port is refused.
bool connect_refused(uint16_t port);
/// Parses "Published 127.0.0.1:PORT -> N/tcp" and returns PORT (0 if absent).
uint16_t published_port(const std::string& output);

/// Pids of QEMU processes whose command line mentions `needle`.
std::vector<int> qemu_pids_matching(const std::string& needle);
/// Every pid on the host whose command line contains `needle`.
std::vector<int> host_pids_matching(const std::string& needle);

}  // namespace sbx::testing
