// The fixture of the suites that boot a real VM: one SbxEnv and one sandbox
// per suite, created in SetUpTestSuite and removed with the env in
// TearDownTestSuite; every test first asserts that the sandbox started.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "harness/harness.h"

namespace sbx::testing {

/// What a suite's sandbox looks like.
struct SandboxOptions {
  std::string name;              ///< the sandbox's name
  std::string workspace = "ws";  ///< directory name under the env's root
  std::string agent = "shell";   ///< the agent (kit) the sandbox runs
  std::vector<std::string> create_flags = {"--memory", "1g"};  ///< before the agent
  /// Environment set before the env and its daemon start (e.g. SBX_WORKSPACE_FS).
  std::vector<std::pair<std::string, std::string>> env;
  /// The user guest() runs as; empty for the sandbox's own user.
  std::string guest_user = "root";
};

/// One env and one sandbox in it, made by the constructor.
class SuiteSandbox {
 public:
  explicit SuiteSandbox(SandboxOptions options);
  ~SuiteSandbox();
  SuiteSandbox(const SuiteSandbox&) = delete;
  SuiteSandbox& operator=(const SuiteSandbox&) = delete;

  SbxEnv& env() { return *env_; }
  const std::string& name() const { return options_.name; }
  const std::string& workspace() const { return workspace_; }
  /// What `sbx create` answered.
  const CmdResult& create_result() const { return create_; }
  bool started() const { return create_.code == 0; }
  /// Runs `sh -c script` in the sandbox (or in `sandbox`, another one of
  /// this env) as options().guest_user.
  CmdResult guest(const std::string& script, const std::string& sandbox = "") const;

 private:
  SandboxOptions options_;
  std::unique_ptr<SbxEnv> env_;
  std::string workspace_;
  CmdResult create_;
};

/// The gtest fixture: `class FooTest : public SandboxSuite<FooTest>` with a
/// `static SandboxOptions options()`. Static state is per suite.
template <class Suite>
class SandboxSuite : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { box_ = std::make_unique<SuiteSandbox>(Suite::options()); }
  static void TearDownTestSuite() { box_.reset(); }
  void SetUp() override {
    ASSERT_TRUE(box_);
    ASSERT_TRUE(box_->started()) << "the suite's sandbox did not start:\n"
                                 << box_->create_result().all();
  }

  static SbxEnv& env() { return box_->env(); }
  /// The sandbox's workspace (absolute path on the host and in the guest).
  static const std::string& ws() { return box_->workspace(); }
  static const CmdResult& create_result() { return box_->create_result(); }
  static CmdResult guest(const std::string& script, const std::string& sandbox = "") {
    return box_->guest(script, sandbox);
  }

 private:
  static inline std::unique_ptr<SuiteSandbox> box_;
};

}  // namespace sbx::testing
