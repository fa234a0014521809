#include "proto/api.h"

#include <cctype>
#include <nlohmann/json.hpp>

#include "proto/json_util.h"

#include "base/strings.h"

namespace sbx::proto {

using nlohmann::json;

namespace {


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
          {"entry", s.entry},
          {"entry_env", s.entry_env},
          {"cpu_percent", s.cpu_percent},
          {"rss_bytes", s.rss_bytes},
          {"error", s.error}};
}

Result<PortMapping> port_from(const json& pj) {
  if (!pj.is_object()) return err("port: not an object");
  PortMapping p;
  for (auto r : {json_field(pj, "host_ip", p.host_ip), json_field(pj, "host_port", p.host_port),
                 json_field(pj, "sandbox_port", p.sandbox_port), json_field(pj, "proto", p.proto)})
    if (!r) return r.error().wrap("port");
  if (p.proto != "tcp") return err("port: only tcp is supported, not '" + p.proto + "'");
  return p;
}

Result<SandboxInfo> info_from(const json& j) {
  if (!j.is_object()) return err("sandbox: not an object");
  SandboxInfo s;
  for (auto r : {json_field(j, "name", s.name), json_field(j, "agent", s.agent),
                 json_field(j, "status", s.status), json_field(j, "workspace", s.workspace),
                 json_field(j, "memory_bytes", s.memory_bytes), json_field(j, "cpus", s.cpus),
                 json_field(j, "disk_bytes", s.disk_bytes), json_field(j, "template", s.template_id),
                 json_field(j, "created_at", s.created_at), json_field(j, "error", s.error),
                 json_field(j, "deny_network", s.deny_network), json_field(j, "entry", s.entry),
                 json_field(j, "entry_env", s.entry_env),
                 json_field(j, "cpu_percent", s.cpu_percent),
                 json_field(j, "rss_bytes", s.rss_bytes)})
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
  return dump_json(json{{"version", v.version}, {"api", v.api}, {"git", v.git}});
}

Result<VersionInfo> parse_version_info(std::string_view text) {
  auto j = parse_json_object(text, "version info");
  if (!j) return j.error();
  VersionInfo v;
  for (auto r : {json_field(*j, "version", v.version), json_field(*j, "api", v.api),
                 json_field(*j, "git", v.git)})
    if (!r) return r.error().wrap("version info");
  return v;
}

std::string to_json(const SandboxInfo& s) { return dump_json(info_json(s)); }

Result<SandboxInfo> parse_sandbox_info(std::string_view text) {
  auto j = parse_json_object(text, "sandbox");
  if (!j) return j.error();
  return info_from(*j);
}

std::string to_json(const std::vector<SandboxInfo>& list) {
  json arr = json::array();
  for (auto& s : list) arr.push_back(info_json(s));
  return dump_json(json{{"sandboxes", arr}});
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
  json j{{"name", r.name},
         {"agent", r.agent},
         {"workspace", r.workspace},
         {"memory_bytes", r.memory_bytes},
         {"cpus", r.cpus},
         {"start", r.start},
         {"ports", ports},
         {"docker_bytes", r.docker_bytes},
         {"deny_network", r.deny_network},
         {"host_config", r.host_config},
         {"template", r.template_tag},
         {"host_ca", r.host_ca}};
  if (r.kit) j["kit"] = kit_bundle_json(*r.kit);
  return dump_json(j);
}

Result<CreateRequest> parse_create_request(std::string_view text) {
  auto j = parse_json_object(text, "create request");
  if (!j) return j.error();
  CreateRequest r;
  for (auto x : {json_field(*j, "name", r.name), json_field(*j, "agent", r.agent),
                 json_field(*j, "workspace", r.workspace),
                 json_field(*j, "memory_bytes", r.memory_bytes), json_field(*j, "cpus", r.cpus),
                 json_field(*j, "start", r.start), json_field(*j, "docker_bytes", r.docker_bytes),
                 json_field(*j, "deny_network", r.deny_network),
                 json_field(*j, "host_config", r.host_config),
                 json_field(*j, "template", r.template_tag), json_field(*j, "host_ca", r.host_ca)})
    if (!x) return x.error().wrap("create request");
  if (auto it = j->find("kit"); it != j->end() && !it->is_null()) {
    auto kit = parse_kit_bundle(*it);
    if (!kit) return kit.error().wrap("create request");
    r.kit = std::move(*kit);
  }
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
  return dump_json(j);
}

Result<ApiError> parse_api_error(std::string_view text) {
  auto j = parse_json_object(text, "error");
  if (!j) return j.error();
  ApiError e;
  for (auto r : {json_field(*j, "message", e.message), json_field(*j, "exit_code", e.exit_code)})
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

std::string to_json(const PortMapping& p) { return dump_json(port_json(p)); }

Result<PortMapping> parse_port_mapping(std::string_view text) {
  auto j = parse_json_object(text, "port");
  if (!j) return j.error();
  return port_from(*j);
}

std::string to_json(const std::vector<PortMapping>& ports) {
  json arr = json::array();
  for (auto& p : ports) arr.push_back(port_json(p));
  return dump_json(json{{"ports", arr}});
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
  return dump_json(json{{"sandboxes", r.sandboxes}, {"artifacts", r.artifacts}, {"bytes", r.bytes},
              {"dry_run", r.dry_run}});
}

Result<PruneResult> parse_prune_result(std::string_view text) {
  auto j = parse_json_object(text, "prune result");
  if (!j) return j.error();
  PruneResult r;
  for (auto x : {json_field(*j, "sandboxes", r.sandboxes), json_field(*j, "artifacts", r.artifacts),
                 json_field(*j, "bytes", r.bytes), json_field(*j, "dry_run", r.dry_run)})
    if (!x) return x.error().wrap("prune result");
  return r;
}

namespace {

// Parses an object and runs every field reader in `read`; the first failure
// is wrapped in `what`.
template <class T, class Read>
Result<T> parse_object(std::string_view text, const char* what, Read read) {
  auto j = parse_json_object(text, what);
  if (!j) return j.error();
  T out;
  if (auto r = read(*j, out); !r) return r.error().wrap(what);
  return out;
}

// The first failure among field reads, or ok.
Result<void> all(std::initializer_list<Result<void>> reads) {
  for (auto& r : reads)
    if (!r) return r;
  return ok();
}

json log_entry_json(const NetworkLogEntry& e) {
  return {{"id", e.id},           {"time_ms", e.time_ms},
          {"sandbox", e.sandbox}, {"host", e.host},
          {"port", e.port},       {"kind", e.kind},
          {"method", e.method},   {"path", e.path},
          {"rule", e.rule},       {"verdict", e.allowed ? "allow" : "deny"},
          {"bytes_up", e.bytes_up}, {"bytes_down", e.bytes_down},
          {"finished", e.finished}, {"error", e.error}};
}

Result<void> log_entry_from(const json& j, NetworkLogEntry& e) {
  if (!j.is_object()) return err("not an object");
  std::string verdict;
  if (auto r = all({json_field(j, "id", e.id), json_field(j, "time_ms", e.time_ms),
                    json_field(j, "sandbox", e.sandbox), json_field(j, "host", e.host),
                    json_field(j, "port", e.port), json_field(j, "kind", e.kind),
                    json_field(j, "method", e.method), json_field(j, "path", e.path),
                    json_field(j, "rule", e.rule), json_required(j, "verdict", verdict),
                    json_field(j, "bytes_up", e.bytes_up),
                    json_field(j, "bytes_down", e.bytes_down),
                    json_field(j, "finished", e.finished), json_field(j, "error", e.error)});
      !r)
    return r;
  if (verdict != "allow" && verdict != "deny")
    return err("field 'verdict' must be \"allow\" or \"deny\", not \"" + verdict + "\"");
  e.allowed = verdict == "allow";
  return ok();
}

}  // namespace

std::string to_json(const ResetResult& r) { return dump_json(json{{"removed", r.removed}}); }

Result<ResetResult> parse_reset_result(std::string_view text) {
  return parse_object<ResetResult>(text, "reset result", [](const json& j, ResetResult& r) {
    return json_required(j, "removed", r.removed);
  });
}

std::string to_json(const PolicyListing& l) {
  json rules = json::array();
  for (auto& r : l.rules)
    rules.push_back(
        {{"id", r.id}, {"scope", r.scope}, {"action", r.action}, {"resource", r.resource}});
  return dump_json(json{{"preset", l.preset}, {"rules", rules}, {"builtin", l.builtin}});
}

Result<PolicyListing> parse_policy_listing(std::string_view text) {
  return parse_object<PolicyListing>(
      text, "policy listing", [](const json& j, PolicyListing& l) -> Result<void> {
        if (auto r = all({json_required(j, "preset", l.preset),
                          json_field(j, "builtin", l.builtin)});
            !r)
          return r;
        auto it = j.find("rules");
        if (it == j.end() || it->is_null()) return ok();
        if (!it->is_array()) return err("field 'rules' has the wrong type");
        for (auto& rj : *it) {
          if (!rj.is_object()) return err("field 'rules' holds a non-object");
          PolicyRule r;
          if (auto x = all({json_required(rj, "id", r.id), json_field(rj, "scope", r.scope),
                            json_required(rj, "action", r.action),
                            json_required(rj, "resource", r.resource)});
              !x)
            return x.error().wrap("rule");
          l.rules.push_back(std::move(r));
        }
        return ok();
      });
}

std::string to_json(const PolicyRuleRequest& r) {
  return dump_json(
      json{{"action", r.action}, {"sandbox", r.sandbox}, {"resources", r.resources}});
}

Result<PolicyRuleRequest> parse_policy_rule_request(std::string_view text) {
  return parse_object<PolicyRuleRequest>(
      text, "policy rule request", [](const json& j, PolicyRuleRequest& r) {
        return all({json_required(j, "action", r.action), json_field(j, "sandbox", r.sandbox),
                    json_required(j, "resources", r.resources)});
      });
}

std::string to_json(const PolicyRuleAdded& r) { return dump_json(json{{"ids", r.ids}}); }

Result<PolicyRuleAdded> parse_policy_rule_added(std::string_view text) {
  return parse_object<PolicyRuleAdded>(text, "policy rule answer",
                                       [](const json& j, PolicyRuleAdded& r) {
                                         return json_required(j, "ids", r.ids);
                                       });
}

std::string to_json(const PolicyRemoveRequest& r) {
  json j = {{"sandbox", r.sandbox}};
  if (r.id > 0)
    j["id"] = r.id;
  else
    j["resource"] = r.resource;
  return dump_json(j);
}

Result<PolicyRemoveRequest> parse_policy_remove_request(std::string_view text) {
  return parse_object<PolicyRemoveRequest>(
      text, "policy remove request", [](const json& j, PolicyRemoveRequest& r) -> Result<void> {
        if (auto x = all({json_field(j, "id", r.id), json_field(j, "resource", r.resource),
                          json_field(j, "sandbox", r.sandbox)});
            !x)
          return x;
        if (r.id < 0) return err("field 'id' must be positive");
        if ((r.id > 0) == !r.resource.empty())
          return err("give exactly one of field 'id' and field 'resource'");
        return ok();
      });
}

std::string to_json(const PolicyRemoved& r) { return dump_json(json{{"removed", r.removed}}); }

Result<PolicyRemoved> parse_policy_removed(std::string_view text) {
  return parse_object<PolicyRemoved>(text, "policy remove answer",
                                     [](const json& j, PolicyRemoved& r) {
                                       return json_required(j, "removed", r.removed);
                                     });
}

std::string to_json(const PolicyInitRequest& r) { return dump_json(json{{"preset", r.preset}}); }

Result<PolicyInitRequest> parse_policy_init_request(std::string_view text) {
  return parse_object<PolicyInitRequest>(text, "policy init request",
                                         [](const json& j, PolicyInitRequest& r) {
                                           return json_required(j, "preset", r.preset);
                                         });
}

std::string to_json(const PolicyCheckRequest& r) {
  return dump_json(json{{"sandbox", r.sandbox}, {"target", r.target}});
}

Result<PolicyCheckRequest> parse_policy_check_request(std::string_view text) {
  return parse_object<PolicyCheckRequest>(
      text, "policy check request", [](const json& j, PolicyCheckRequest& r) {
        return all({json_field(j, "sandbox", r.sandbox), json_required(j, "target", r.target)});
      });
}

std::string to_json(const PolicyDecision& d) {
  return dump_json(json{{"allowed", d.allowed}, {"rule", d.rule}, {"rule_id", d.rule_id}});
}

Result<PolicyDecision> parse_policy_decision(std::string_view text) {
  return parse_object<PolicyDecision>(
      text, "policy decision", [](const json& j, PolicyDecision& d) {
        return all({json_required(j, "allowed", d.allowed), json_field(j, "rule", d.rule),
                    json_field(j, "rule_id", d.rule_id)});
      });
}

std::string to_json(const NetworkLogEntry& e) { return dump_json(log_entry_json(e)); }

Result<NetworkLogEntry> parse_network_log_entry(std::string_view text) {
  return parse_object<NetworkLogEntry>(text, "network log entry", log_entry_from);
}

std::string to_json(const std::vector<NetworkLogEntry>& log) {
  json arr = json::array();
  for (auto& e : log) arr.push_back(log_entry_json(e));
  return dump_json(arr);
}

Result<std::vector<NetworkLogEntry>> parse_network_log(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_array()) return err("malformed network log: not a JSON array");
  std::vector<NetworkLogEntry> out;
  for (auto& ej : j) {
    NetworkLogEntry e;
    if (auto r = log_entry_from(ej, e); !r) return r.error().wrap("network log entry");
    out.push_back(std::move(e));
  }
  return out;
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
