#include "proto/api.h"

#include <cctype>
#include <nlohmann/json.hpp>

namespace sbx::proto {

using nlohmann::json;

namespace {

Result<json> parse_object(std::string_view text, const char* what) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return err(std::string("malformed ") + what + ": not a JSON object");
  return j;
}

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
          {"error", s.error}};
}

Result<SandboxInfo> info_from(const json& j) {
  if (!j.is_object()) return err("sandbox: not an object");
  SandboxInfo s;
  for (auto r : {field(j, "name", s.name), field(j, "agent", s.agent),
                 field(j, "status", s.status), field(j, "workspace", s.workspace),
                 field(j, "memory_bytes", s.memory_bytes), field(j, "cpus", s.cpus),
                 field(j, "disk_bytes", s.disk_bytes), field(j, "template", s.template_id),
                 field(j, "created_at", s.created_at), field(j, "error", s.error)})
    if (!r) return r.error().wrap("sandbox");
  auto it = j.find("ports");
  if (it != j.end() && it->is_array()) {
    for (auto& pj : *it) {
      PortMapping p;
      for (auto r : {field(pj, "host_ip", p.host_ip), field(pj, "host_port", p.host_port),
                     field(pj, "sandbox_port", p.sandbox_port), field(pj, "proto", p.proto)})
        if (!r) return r.error().wrap("sandbox port");
      s.ports.push_back(p);
    }
  }
  return s;
}

}  // namespace

std::string to_json(const VersionInfo& v) {
  return json{{"version", v.version}, {"api", v.api}, {"git", v.git}}.dump();
}

Result<VersionInfo> parse_version_info(std::string_view text) {
  auto j = parse_object(text, "version info");
  if (!j) return j.error();
  VersionInfo v;
  for (auto r : {field(*j, "version", v.version), field(*j, "api", v.api),
                 field(*j, "git", v.git)})
    if (!r) return r.error().wrap("version info");
  return v;
}

std::string to_json(const SandboxInfo& s) { return info_json(s).dump(); }

Result<SandboxInfo> parse_sandbox_info(std::string_view text) {
  auto j = parse_object(text, "sandbox");
  if (!j) return j.error();
  return info_from(*j);
}

std::string to_json(const std::vector<SandboxInfo>& list) {
  json arr = json::array();
  for (auto& s : list) arr.push_back(info_json(s));
  return json{{"sandboxes", arr}}.dump();
}

Result<std::vector<SandboxInfo>> parse_sandbox_list(std::string_view text) {
  auto j = parse_object(text, "sandbox list");
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
  return json{{"name", r.name},       {"agent", r.agent},
              {"workspace", r.workspace}, {"memory_bytes", r.memory_bytes},
              {"cpus", r.cpus},       {"start", r.start}}
      .dump();
}

Result<CreateRequest> parse_create_request(std::string_view text) {
  auto j = parse_object(text, "create request");
  if (!j) return j.error();
  CreateRequest r;
  for (auto x : {field(*j, "name", r.name), field(*j, "agent", r.agent),
                 field(*j, "workspace", r.workspace),
                 field(*j, "memory_bytes", r.memory_bytes), field(*j, "cpus", r.cpus),
                 field(*j, "start", r.start)})
    if (!x) return x.error().wrap("create request");
  if (r.cpus < 0 || r.cpus > 1024) return err("create request: cpus out of range");
  return r;
}

std::string to_json(const ApiError& e) {
  json j = {{"message", e.message}};
  if (e.exit_code) j["exit_code"] = e.exit_code;
  return j.dump();
}

Result<ApiError> parse_api_error(std::string_view text) {
  auto j = parse_object(text, "error");
  if (!j) return j.error();
  ApiError e;
  for (auto r : {field(*j, "message", e.message), field(*j, "exit_code", e.exit_code)})
    if (!r) return r.error().wrap("error");
  return e;
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
