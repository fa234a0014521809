// Client-side validation of command arguments, done before contacting the
// daemon so mistakes fail fast with a message that says what to type.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"

namespace sbx::cli {

/// Agents this build can run.
const std::vector<std::string>& known_agents();
/// Fails with "unknown agent 'x'; available: shell" for anything else.
Result<void> check_agent(const std::string& agent);
/// Whether `name` is one of known_agents().
bool is_known_agent(const std::string& name);

/// Parses --memory ("512m", "8g"); errors name the flag's bad value.
Result<uint64_t> parse_memory(const std::string& text);
/// Resolves a workspace to an absolute path; it must exist and be a directory.
Result<std::string> resolve_workspace(const std::string& path);
/// -w must be absolute: the guest has no notion of our current directory.
Result<void> check_workdir(const std::string& dir);
/// -e K=V, or -e K to copy K from our environment (skipped when unset), as
/// docker does. Returns nothing for an unset K.
Result<std::vector<std::string>> parse_env_flag(const std::string& spec);
/// Reads an --env-file: K=V or K lines; blank lines and '#' comments skipped.
Result<std::vector<std::string>> read_env_file(const std::string& path);

}  // namespace sbx::cli
