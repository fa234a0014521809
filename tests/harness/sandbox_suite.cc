#include "harness/sandbox_suite.h"

#include <stdio.h>
#include <stdlib.h>

namespace sbx::testing {

SuiteSandbox::SuiteSandbox(SandboxOptions options) : options_(std::move(options)) {
  // Before the env: its daemon (started by the first sbx call) reads them.
  for (auto& [k, v] : options_.env) ::setenv(k.c_str(), v.c_str(), 1);
  env_ = std::make_unique<SbxEnv>();
  workspace_ = env_->make_workspace(options_.workspace);
  std::vector<std::string> args = {"create", "--name", options_.name};
  args.insert(args.end(), options_.create_flags.begin(), options_.create_flags.end());
  args.push_back(options_.agent);
  args.push_back(workspace_);
  create_ = sbx(args);
  if (create_.code != 0) fprintf(stderr, "create failed:\n%s\n", create_.all().c_str());
}

SuiteSandbox::~SuiteSandbox() {
  env_.reset();
  for (auto& [k, v] : options_.env) ::unsetenv(k.c_str());
}

CmdResult SuiteSandbox::guest(const std::string& script, const std::string& sandbox) const {
  std::vector<std::string> args = {"exec"};
  if (!options_.guest_user.empty()) {
    args.push_back("-u");
    args.push_back(options_.guest_user);
  }
  args.push_back(sandbox.empty() ? options_.name : sandbox);
  for (const char* a : {"--", "sh", "-c"}) args.push_back(a);
  args.push_back(script);
  return sbx(args);
}

}  // namespace sbx::testing
