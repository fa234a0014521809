// `sbx secret ...`: the credentials sandboxd injects into requests bound
// for their services. Values go to the daemon and never come back.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

#include "cli/commands.h"

namespace sbx::cli {

/// `sbx secret set` and `set-custom`.
struct SecretSetOpts {
  bool global = false;
  std::vector<std::string> args;  ///< [SANDBOX] SERVICE (set) or [SANDBOX] (set-custom)
  std::string token;              ///< -t; empty: prompt, or stdin when not a terminal
  bool custom = false;
  std::vector<std::string> hosts;
  std::string env, header, placeholder;
};

/// Adds `sbx secret` and its subcommands to `app`; the chosen one is stored
/// in `action`.
void add_secret_commands(CLI::App& app, Commands& cmds, std::function<int()>& action);

}  // namespace sbx::cli
