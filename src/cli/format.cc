#include "cli/format.h"

#include <algorithm>
#include <array>
#include <ctime>

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
      {"Network", s.deny_network ? "denied (created with --deny-network)"
                                 : "by policy (see 'sbx policy ls')"},
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

namespace {
std::string log_time(int64_t ms, bool utc) {
  time_t t = static_cast<time_t>(ms / 1000);
  tm parts{};
  if (utc)
    gmtime_r(&t, &parts);
  else
    localtime_r(&t, &parts);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &parts);
  return buf;
}

std::string log_bytes(const NetworkLogRow& r, uint64_t n) {
  if (r.kind == "dns" || !r.allowed) return "-";
  return format_size(n) + (r.finished ? "" : "+");
}
}  // namespace

std::string format_network_log(const std::vector<NetworkLogRow>& rows, bool colour, bool utc) {
  std::vector<std::vector<std::string>> table{
      {"TIME", "SANDBOX", "KIND", "HOST", "PORT", "REQUEST", "VERDICT", "UP", "DOWN", "RULE"}};
  for (auto& r : rows) {
    std::string request = r.method;
    // Paths come from the guest: shown short, and without control bytes.
    std::string path = r.path.size() > 40 ? r.path.substr(0, 37) + "..." : r.path;
    for (auto& c : path)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    if (!path.empty()) request += (request.empty() ? "" : " ") + path;
    table.push_back({log_time(r.time_ms, utc), r.sandbox, r.kind, r.host,
                     r.port ? std::to_string(r.port) : "-", request.empty() ? "-" : request,
                     r.allowed ? "allow" : "deny", log_bytes(r, r.bytes_up),
                     log_bytes(r, r.bytes_down), r.rule});
  }
  std::string out = format_table(table);
  if (!colour) return out;
  // Colour after padding, so escape codes do not upset the column widths.
  std::string coloured;
  for (auto& line : split(out, '\n')) {
    if (line.empty()) continue;
    for (auto [word, sgr] : {std::pair{"   allow   ", "32"}, std::pair{"   deny   ", "31"}}) {
      auto at = line.find(word);
      if (at != std::string::npos) {
        std::string w = word;
        auto v = w.find_first_not_of(' ');
        auto len = w.find_last_not_of(' ') - v + 1;
        line.replace(at + v, len, paint(w.substr(v, len), sgr, true));
        break;
      }
    }
    coloured += line + "\n";
  }
  return coloured;
}

std::string format_host_summary(const std::vector<proto::HostSummary>& hosts, bool utc) {
  std::vector<std::vector<std::string>> table{
      {"HOST", "VERDICT", "COUNT", "ALLOWED", "BLOCKED", "LAST SEEN", "SANDBOX"}};
  for (auto& h : hosts) {
    std::string host = h.host;
    for (auto& c : host)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    table.push_back({host, proto::verdict_of(h), std::to_string(h.count),
                     std::to_string(h.allowed), std::to_string(h.blocked),
                     log_time(h.last_seen_ms, utc), h.last_sandbox});
  }
  return format_table(table);
}

std::string format_error(const std::string& message) { return "Error: " + message + "\n"; }

}  // namespace sbx::cli
