#include "cli/format.h"

#include <algorithm>
#include <array>

#include "base/strings.h"

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

std::string format_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (auto& r : rows) {
    if (width.size() < r.size()) width.resize(r.size(), 0);
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
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

std::string format_sandbox_table(const std::vector<proto::SandboxInfo>& list) {
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"SANDBOX", "AGENT", "STATUS", "PORTS", "WORKSPACE"});
  for (auto& s : list) rows.push_back({s.name, s.agent, s.status, format_ports(s.ports), s.workspace});
  return format_table(rows);
}

std::string format_port_table(const std::vector<proto::PortMapping>& ports) {
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"HOST", "SANDBOX PORT"});
  for (auto& p : ports)
    rows.push_back({p.host_ip + ":" + std::to_string(p.host_port),
                    std::to_string(p.sandbox_port) + "/" + p.proto});
  return format_table(rows);
}

namespace {
std::string arrow(const proto::PortMapping& p) {
  return p.host_ip + ":" + std::to_string(p.host_port) + " -> " +
         std::to_string(p.sandbox_port) + "/" + p.proto;
}
}  // namespace

std::string format_published(const proto::PortMapping& p) { return "Published " + arrow(p) + "\n"; }

std::string format_unpublished(const proto::PortMapping& p) {
  return "Unpublished " + arrow(p) + "\n";
}

std::string format_prune(const proto::PruneResult& r) {
  std::string verb = r.dry_run ? "Would remove" : "Removed";
  std::string out;
  for (auto& n : r.sandboxes) out += verb + " sandbox '" + n + "'\n";
  for (auto& a : r.artifacts) out += verb + " " + a + "\n";
  if (r.sandboxes.empty() && r.artifacts.empty()) out += "Nothing to prune\n";
  out += (r.dry_run ? "Space that would be freed: " : "Space freed: ") + format_size(r.bytes) + "\n";
  return out;
}

std::string paint(const std::string& text, const char* sgr, bool colour) {
  if (!colour) return text;
  return std::string("\033[") + sgr + "m" + text + "\033[0m";
}

std::string format_inspect(const proto::SandboxInfo& s, bool colour) {
  const char* sgr = s.status == "running" ? "32" : s.status == "failed" ? "31" : "33";
  std::vector<std::pair<std::string, std::string>> kv = {
      {"Name", s.name},
      {"Agent", s.agent},
      {"Status", paint(s.status, sgr, colour)},
      {"Workspace", s.workspace.empty() ? "(none)" : s.workspace},
      {"Memory", s.memory_bytes ? format_size(s.memory_bytes) : "default"},
      {"CPUs", s.cpus ? std::to_string(s.cpus) : "default"},
      {"Disk", s.disk_bytes ? format_size(s.disk_bytes) : "default"},
      {"Template", s.template_id},
      {"Created", s.created_at},
      {"Ports", s.ports.empty() ? "(none)" : format_ports(s.ports)},
  };
  std::string out;
  for (auto& [k, v] : kv) {
    out += k + ":";
    out.append(10 - k.size(), ' ');
    out += v + "\n";
  }
  if (!s.error.empty()) {
    out += paint("Error:", "31", colour) + "\n";
    for (auto& line : split(s.error, '\n')) out += "  " + line + "\n";
  }
  return out;
}

std::string format_created(const proto::SandboxInfo& s, bool colour) {
  std::string tick = paint("✓", "32", colour);
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
