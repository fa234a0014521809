#include "cli/arguments.h"

#include <cstdlib>

#include "base/files.h"
#include "base/strings.h"
#include "proto/messages.h"

namespace sbx::cli {

const std::vector<std::string>& known_agents() {
  // The built-in kits (the daemon answers for any other kit name).
  static const std::vector<std::string> agents = {"shell",   "claude",  "codex",
                                                  "gemini",  "copilot", "opencode"};
  return agents;
}

bool is_known_agent(const std::string& name) {
  for (auto& a : known_agents())
    if (a == name) return true;
  return false;
}

Result<void> check_agent(const std::string& agent) {
  // The daemon knows the kits; here only the shape of the name is checked.
  if (is_known_agent(agent)) return ok();
  bool valid = !agent.empty() && agent.size() <= 63;
  for (char c : agent)
    valid = valid && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_');
  if (valid) return ok();
  return err("invalid agent name '" + agent + "'; agents: " + join(known_agents(), ", "));
}

Result<uint64_t> parse_memory(const std::string& text) {
  auto v = parse_size(text);
  if (!v || *v == 0)
    return err("invalid memory size '" + text + "': use e.g. 512m or 8g");
  return *v;
}

Result<std::string> resolve_workspace(const std::string& path) {
  auto abs = absolute_path(path.empty() ? "." : path);
  if (!abs) return abs.error();
  if (!path_exists(*abs)) return err("workspace path '" + *abs + "' does not exist");
  if (!is_directory(*abs)) return err("workspace path '" + *abs + "' is not a directory");
  return *abs;
}

Result<void> check_workdir(const std::string& dir) {
  if (dir.empty() || dir[0] == '/') return ok();
  return err("working directory '" + dir + "' must be an absolute path");
}

Result<std::vector<std::string>> parse_env_flag(const std::string& spec) {
  std::vector<std::string> out;
  auto eq = spec.find('=');
  if (eq == std::string::npos) {
    if (spec.empty()) return err("empty environment variable name in -e");
    if (const char* v = std::getenv(spec.c_str())) out.push_back(spec + "=" + v);
    return out;
  }
  if (!proto::valid_env_entry(spec))
    return err("invalid environment variable '" + spec + "': use KEY=VALUE");
  out.push_back(spec);
  return out;
}

Result<std::vector<std::string>> read_env_file(const std::string& path) {
  auto text = read_file(path);
  if (!text) return err("cannot read env file '" + path + "': " + text.error().message);
  std::vector<std::string> out;
  int lineno = 0;
  for (auto& raw : split(*text, '\n')) {
    ++lineno;
    std::string line = trim(raw);
    if (line.empty() || line[0] == '#') continue;
    auto e = parse_env_flag(line);
    if (!e) return e.error().wrap(path + ":" + std::to_string(lineno));
    for (auto& x : *e) out.push_back(std::move(x));
  }
  return out;
}

}  // namespace sbx::cli
