#include "proto/api.h"

#include <cctype>
#include <nlohmann/json.hpp>

#include "proto/json_util.h"

#include "base/strings.h"

namespace sbx::proto {

using nlohmann::json;

namespace {


// Reads `key` into `out` when present and of the right type; a present value
// of the wrong type is an error.
template <class T>
Result<void> field(const json& j, const char* key, T& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return ok();
  try {
    out = it->get<T>();
  } catch (const json::exception&) {
    return err(std::string("field '") + key + "' has the wrong type");
  }
  return ok();
}

json port_json(const PortMapping& p) {
  return {{"host_ip", p.host_ip}, {"host_port", p.host_port},
          {"sandbox_port", p.sandbox_port}, {"proto", p.proto}};
}

json info_json(const SandboxInfo& s) {
  json ports = json::array();
  for (auto& p : s.ports) ports.push_back(port_json(p));
  return {{"name", s.name},
          {"agent", s.agent},
          {"status", s.status},
          {"workspace", s.workspace},
          {"memory_bytes", s.memory_bytes},
          {"cpus", s.cpus},
          {"disk_bytes", s.disk_bytes},
          {"template", s.template_id},
          {"created_at", s.created_at},
          {"ports", ports},
          {"deny_network", s.deny_network},
          {"error", s.error}};
}

Result<PortMapping> port_from(const json& pj) {
  if (!pj.is_object()) return err("port: not an object");
  PortMapping p;
  for (auto r : {field(pj, "host_ip", p.host_ip), field(pj, "host_port", p.host_port),
                 field(pj, "sandbox_port", p.sandbox_port), field(pj, "proto", p.proto)})
    if (!r) return r.error().wrap("port");
  if (p.proto != "tcp") return err("port: only tcp is supported, not '" + p.proto + "'");
  return p;
}

Result<SandboxInfo> info_from(const json& j) {
  if (!j.is_object()) return err("sandbox: not an object");
  SandboxInfo s;
  for (auto r : {field(j, "name", s.name), field(j, "agent", s.agent),
                 field(j, "status", s.status), field(j, "workspace", s.workspace),
                 field(j, "memory_bytes", s.memory_bytes), field(j, "cpus", s.cpus),
                 field(j, "disk_bytes", s.disk_bytes), field(j, "template", s.template_id),
                 field(j, "created_at", s.created_at), field(j, "error", s.error),
                 field(j, "deny_network", s.deny_network)})
    if (!r) return r.error().wrap("sandbox");
  auto it = j.find("ports");
  if (it != j.end() && it->is_array()) {
    for (auto& pj : *it) {
      auto p = port_from(pj);
      if (!p) return p.error().wrap("sandbox");
      s.ports.push_back(*p);
    }
  }
  return s;
}

}  // namespace

std::string to_json(const VersionInfo& v) {
  return json{{"version", v.version}, {"api", v.api}, {"git", v.git}}.dump();
}

Result<VersionInfo> parse_version_info(std::string_view text) {
  auto j = parse_json_object(text, "version info");
  if (!j) return j.error();
  VersionInfo v;
  for (auto r : {field(*j, "version", v.version), field(*j, "api", v.api),
                 field(*j, "git", v.git)})
    if (!r) return r.error().wrap("version info");
  return v;
}

std::string to_json(const SandboxInfo& s) { return info_json(s).dump(); }

Result<SandboxInfo> parse_sandbox_info(std::string_view text) {
  auto j = parse_json_object(text, "sandbox");
  if (!j) return j.error();
  return info_from(*j);
}

std::string to_json(const std::vector<SandboxInfo>& list) {
  json arr = json::array();
  for (auto& s : list) arr.push_back(info_json(s));
  return json{{"sandboxes", arr}}.dump();
}

Result<std::vector<SandboxInfo>> parse_sandbox_list(std::string_view text) {
  auto j = parse_json_object(text, "sandbox list");
  if (!j) return j.error();
  auto it = j->find("sandboxes");
  if (it == j->end() || !it->is_array()) return err("sandbox list: missing 'sandboxes'");
  std::vector<SandboxInfo> out;
  for (auto& e : *it) {
    auto s = info_from(e);
    if (!s) return s.error();
    out.push_back(std::move(*s));
  }
  return out;
}

std::string to_json(const CreateRequest& r) {
  json ports = json::array();
  for (auto& p : r.ports) ports.push_back(port_json(p));
  return json{{"name", r.name},       {"agent", r.agent},
              {"workspace", r.workspace}, {"memory_bytes", r.memory_bytes},
              {"cpus", r.cpus},       {"start", r.start},
              {"ports", ports},       {"docker_bytes", r.docker_bytes},
              {"deny_network", r.deny_network}}
      .dump();
}

Result<CreateRequest> parse_create_request(std::string_view text) {
  auto j = parse_json_object(text, "create request");
  if (!j) return j.error();
  CreateRequest r;
  for (auto x : {field(*j, "name", r.name), field(*j, "agent", r.agent),
                 field(*j, "workspace", r.workspace),
                 field(*j, "memory_bytes", r.memory_bytes), field(*j, "cpus", r.cpus),
                 field(*j, "start", r.start), field(*j, "docker_bytes", r.docker_bytes),
                 field(*j, "deny_network", r.deny_network)})
    if (!x) return x.error().wrap("create request");
  if (auto it = j->find("ports"); it != j->end() && !it->is_null()) {
    if (!it->is_array() || it->size() > 256) return err("create request: bad 'ports'");
    for (auto& pj : *it) {
      auto p = port_from(pj);
      if (!p) return p.error().wrap("create request");
      r.ports.push_back(*p);
    }
  }
  if (r.cpus < 0 || r.cpus > 1024) return err("create request: cpus out of range");
  return r;
}

std::string to_json(const ApiError& e) {
  json j = {{"message", e.message}};
  if (e.exit_code) j["exit_code"] = e.exit_code;
  return j.dump();
}

Result<ApiError> parse_api_error(std::string_view text) {
  auto j = parse_json_object(text, "error");
  if (!j) return j.error();
  ApiError e;
  for (auto r : {field(*j, "message", e.message), field(*j, "exit_code", e.exit_code)})
    if (!r) return r.error().wrap("error");
  return e;
}

namespace {

Result<uint16_t> parse_port_number(std::string_view s, bool allow_zero, std::string_view spec) {
  auto bad = [&] {
    return err("invalid port '" + std::string(s) + "' in '" + std::string(spec) +
               "': use a number from 1 to 65535");
  };
  if (s.empty() || s.size() > 5) return bad();
  for (char c : s)
    if (c < '0' || c > '9') return bad();
  int v = std::stoi(std::string(s));
  if (v > 65535 || (v == 0 && !allow_zero)) return bad();
  return static_cast<uint16_t>(v);
}

Result<std::string> parse_ip(std::string_view s, std::string_view spec) {
  // IPv4 dotted quad; the bracketed IPv6 form is not supported yet.
  auto parts = split(s, '.');
  bool ok4 = parts.size() == 4;
  for (auto& p : parts) {
    if (!ok4) break;
    if (p.empty() || p.size() > 3 || p.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(p) > 255)
      ok4 = false;
  }
  if (!ok4)
    return err("invalid host IP '" + std::string(s) + "' in '" + std::string(spec) +
               "': use an IPv4 address such as 127.0.0.1");
  return std::string(s);
}

}  // namespace

Result<PortMapping> parse_port_spec(std::string_view spec) {
  std::string_view s = spec;
  PortMapping p;
  if (auto slash = s.rfind('/'); slash != std::string_view::npos) {
    std::string proto = to_lower(s.substr(slash + 1));
    if (proto != "tcp")
      return err("unsupported protocol '" + proto + "' in '" + std::string(spec) + "': only tcp");
    s = s.substr(0, slash);
  }
  auto parts = split(s, ':');
  if (parts.empty() || parts.size() > 3)
    return err("invalid port spec '" + std::string(spec) +
               "': use [[HOST_IP:]HOST_PORT:]SANDBOX_PORT, e.g. 8080:5000");
  auto sp = parse_port_number(parts.back(), false, spec);
  if (!sp) return sp.error();
  p.sandbox_port = *sp;
  if (parts.size() >= 2) {
    auto hp = parse_port_number(parts[parts.size() - 2], true, spec);
    if (!hp) return hp.error();
    p.host_port = *hp;
  }
  if (parts.size() == 3) {
    auto ip = parse_ip(parts[0], spec);
    if (!ip) return ip.error();
    p.host_ip = *ip;
  }
  return p;
}

Result<PortMapping> parse_unpublish_spec(std::string_view spec) {
  std::string_view s = spec;
  if (auto slash = s.rfind('/'); slash != std::string_view::npos) s = s.substr(0, slash);
  auto parts = split(s, ':');
  PortMapping p;
  p.host_ip.clear();
  auto usage = [&] {
    return err("invalid spec '" + std::string(spec) +
               "': use HOST_PORT or [HOST_IP:]HOST_PORT:SANDBOX_PORT");
  };
  if (parts.size() == 1) {
    auto hp = parse_port_number(parts[0], false, spec);
    if (!hp) return hp.error();
    p.host_port = *hp;
    return p;
  }
  if (parts.size() > 3) return usage();
  auto spec_full = parse_port_spec(spec);
  if (!spec_full) return spec_full.error();
  if (spec_full->host_port == 0) return usage();
  p = *spec_full;
  if (parts.size() == 2) p.host_ip.clear();
  return p;
}

std::string format_port(const PortMapping& p) {
  return p.host_ip + ":" + std::to_string(p.host_port) + "->" + std::to_string(p.sandbox_port) +
         "/" + p.proto;
}

std::string to_json(const PortMapping& p) { return port_json(p).dump(); }

Result<PortMapping> parse_port_mapping(std::string_view text) {
  auto j = parse_json_object(text, "port");
  if (!j) return j.error();
  return port_from(*j);
}

std::string to_json(const std::vector<PortMapping>& ports) {
  json arr = json::array();
  for (auto& p : ports) arr.push_back(port_json(p));
  return json{{"ports", arr}}.dump();
}

Result<std::vector<PortMapping>> parse_port_list(std::string_view text) {
  auto j = parse_json_object(text, "port list");
  if (!j) return j.error();
  auto it = j->find("ports");
  if (it == j->end() || !it->is_array()) return err("port list: missing 'ports'");
  std::vector<PortMapping> out;
  for (auto& e : *it) {
    auto p = port_from(e);
    if (!p) return p.error();
    out.push_back(*p);
  }
  return out;
}

std::string to_json(const PruneResult& r) {
  return json{{"sandboxes", r.sandboxes}, {"artifacts", r.artifacts}, {"bytes", r.bytes},
              {"dry_run", r.dry_run}}
      .dump();
}

Result<PruneResult> parse_prune_result(std::string_view text) {
  auto j = parse_json_object(text, "prune result");
  if (!j) return j.error();
  PruneResult r;
  for (auto x : {field(*j, "sandboxes", r.sandboxes), field(*j, "artifacts", r.artifacts),
                 field(*j, "bytes", r.bytes), field(*j, "dry_run", r.dry_run)})
    if (!x) return x.error().wrap("prune result");
  return r;
}

Result<void> validate_sandbox_name(std::string_view name) {
  auto bad = [&](const std::string& why) {
    return err("invalid sandbox name '" + std::string(name) + "': " + why);
  };
  if (name.empty()) return bad("it is empty");
  if (name.size() > 63) return bad("longer than 63 characters");
  if (!std::isalnum(static_cast<unsigned char>(name[0])) || std::isupper(static_cast<unsigned char>(name[0])))
    return bad("it must start with a lower-case letter or a digit");
  for (char c : name) {
    bool okc = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
               c == '_' || c == '.';
    if (!okc) return bad("use only a-z, 0-9, '-', '_' and '.'");
  }
  return ok();
}

std::string default_sandbox_name(std::string_view agent, std::string_view workspace) {
  std::string_view ws = workspace;
  while (ws.size() > 1 && ws.back() == '/') ws.remove_suffix(1);
  std::string_view dir = ws.substr(ws.rfind('/') == std::string_view::npos ? 0 : ws.rfind('/') + 1);
  std::string raw = std::string(agent) + "-" + std::string(dir.empty() ? "root" : dir);
  std::string out;
  bool dash = false;
  for (char c : raw) {
    char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    bool okc = (l >= 'a' && l <= 'z') || (l >= '0' && l <= '9') || l == '_' || l == '.';
    if (okc) {
      out += l;
      dash = false;
    } else if (!dash && !out.empty()) {
      out += '-';
      dash = true;
    }
  }
  while (!out.empty() && (out.back() == '-' || out.back() == '.')) out.pop_back();
  if (out.size() > 63) out.resize(63);
  while (!out.empty() && (out.back() == '-' || out.back() == '.')) out.pop_back();
  if (out.empty()) out = "sandbox";
  return out;
}

}  // namespace sbx::proto
