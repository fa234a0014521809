// Shell completion scripts for `sbx completion bash|zsh|fish`. The command
// model is taken from the CLI11 tree at run time (see app.cc), so every new
// command and flag is completed without touching this file; sandbox names
// come from `sbx ls -q` when the user presses TAB.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"

namespace sbx::cli {

/// One option of a command.
struct CompletionFlag {
  std::vector<std::string> names;  ///< "-m", "--memory"
  bool takes_value = false;
  std::string help;
};

/// A command with its flags and (for `daemon`) subcommands.
struct CompletionCommand {
  std::string name;
  std::string help;
  std::vector<CompletionFlag> flags;
  std::vector<CompletionCommand> subcommands;
  bool takes_sandbox = false;  ///< positionals complete to sandbox names
  std::vector<std::string> words;  ///< fixed positional words (agents, shells)
  bool takes_path = false;     ///< positionals complete to files
};

/// The shells we write scripts for.
const std::vector<std::string>& completion_shells();

/// The completion script for `shell` ("bash", "zsh" or "fish"); fails for
/// any other shell, naming the supported ones.
Result<std::string> completion_script(const std::string& shell,
                                      const std::vector<CompletionCommand>& commands);

}  // namespace sbx::cli
