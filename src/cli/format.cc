#include "cli/format.h"

#include <algorithm>
#include <array>

namespace sbx::cli {

std::string format_ports(const std::vector<proto::PortMapping>& ports) {
  std::string out;
  for (auto& p : ports) {
    if (!out.empty()) out += ", ";
    out += p.host_ip + ":" + std::to_string(p.host_port) + "->" +
           std::to_string(p.sandbox_port) + "/" + p.proto;
  }
  return out;
}

std::string format_sandbox_table(const std::vector<proto::SandboxInfo>& list) {
  using Row = std::array<std::string, 5>;
  std::vector<Row> rows;
  rows.push_back({"SANDBOX", "AGENT", "STATUS", "PORTS", "WORKSPACE"});
  for (auto& s : list) rows.push_back({s.name, s.agent, s.status, format_ports(s.ports), s.workspace});
  std::array<size_t, 5> width{};
  for (auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  std::string out;
  for (auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line.append(width[i] - r[i].size() + 3, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string format_created(const proto::SandboxInfo& s, bool colour) {
  std::string tick = colour ? "\033[32m✓\033[0m" : "✓";
  std::string out = tick + " Created sandbox '" + s.name + "'\n";
  out += "  Workspace: " + (s.workspace.empty() ? std::string("(none)") : s.workspace) +
         " (direct mount)\n";
  out += "  Agent: " + s.agent + "\n";
  out += "\nTo connect to this sandbox, run:\n";
  out += "  sbx run " + s.name + "\n";
  return out;
}

std::string format_error(const std::string& message) { return "Error: " + message + "\n"; }

}  // namespace sbx::cli
