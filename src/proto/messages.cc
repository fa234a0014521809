#include "proto/messages.h"

#include <arpa/inet.h>

#include <nlohmann/json.hpp>

#include "proto/json_util.h"

namespace sbx::proto {

using nlohmann::json;

namespace {


// Field readers: absent fields keep their default; wrong types are errors.
Result<void> get_string(const json& j, const char* key, std::string& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return ok();
  if (!it->is_string()) return err(std::string("field '") + key + "' must be a string");
  out = it->get<std::string>();
  if (out.find('\0') != std::string::npos)
    return err(std::string("field '") + key + "' contains NUL");
  return ok();
}
Result<void> get_bool(const json& j, const char* key, bool& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return ok();
  if (!it->is_boolean()) return err(std::string("field '") + key + "' must be a boolean");
  out = it->get<bool>();
  return ok();
}
template <class Int>
Result<void> get_int(const json& j, const char* key, Int& out, int64_t lo, int64_t hi) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return ok();
  if (!it->is_number_integer()) return err(std::string("field '") + key + "' must be an integer");
  int64_t v = it->get<int64_t>();
  if (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
    return err(std::string("field '") + key + "' out of range");
  if (v < lo || v > hi) return err(std::string("field '") + key + "' out of range");
  out = static_cast<Int>(v);
  return ok();
}
Result<void> get_strings(const json& j, const char* key, std::vector<std::string>& out,
                         size_t max) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return ok();
  if (!it->is_array()) return err(std::string("field '") + key + "' must be an array");
  if (it->size() > max) return err(std::string("field '") + key + "' has too many entries");
  out.clear();
  for (auto& e : *it) {
    if (!e.is_string()) return err(std::string("field '") + key + "' must hold strings");
    out.push_back(e.get<std::string>());
    if (out.back().find('\0') != std::string::npos)
      return err(std::string("field '") + key + "' contains NUL");
  }
  return ok();
}

#define SBX_CHECK(expr)            \
  do {                             \
    auto _r = (expr);              \
    if (!_r) return _r.error().wrap(what); \
  } while (0)

}  // namespace

bool valid_env_entry(std::string_view v) {
  size_t eq = v.find('=');
  return eq != std::string_view::npos && eq > 0 && v.find('\0') == std::string_view::npos;
}

std::string to_json(const ExecRequest& r) {
  json j = {{"argv", r.argv}, {"env", r.env},   {"cwd", r.cwd},
            {"user", r.user}, {"tty", r.tty},   {"rows", r.rows},
            {"cols", r.cols}, {"detach", r.detach}};
  return dump_json(j);
}

Result<ExecRequest> parse_exec_request(std::string_view text) {
  const char* what = "exec request";
  auto j = parse_json_object(text, what);
  if (!j) return j.error();
  ExecRequest r;
  SBX_CHECK(get_strings(*j, "argv", r.argv, kMaxArgs));
  SBX_CHECK(get_strings(*j, "env", r.env, kMaxEnv));
  SBX_CHECK(get_string(*j, "cwd", r.cwd));
  SBX_CHECK(get_string(*j, "user", r.user));
  SBX_CHECK(get_bool(*j, "tty", r.tty));
  SBX_CHECK(get_bool(*j, "detach", r.detach));
  SBX_CHECK(get_int(*j, "rows", r.rows, 0, 65535));
  SBX_CHECK(get_int(*j, "cols", r.cols, 0, 65535));
  if (r.argv.empty()) return err("exec request: empty argv");
  for (auto& e : r.env)
    if (!valid_env_entry(e)) return err("exec request: bad environment entry '" + e + "'");
  if (!r.cwd.empty() && r.cwd[0] != '/')
    return err("exec request: working directory must be absolute: " + r.cwd);
  return r;
}

std::string to_json(const TcpConnectRequest& r) {
  return dump_json(json{{"kind", "tcp"}, {"host", r.host}, {"port", r.port}});
}

Result<std::string> open_kind(std::string_view text) {
  const char* what = "open request";
  auto j = parse_json_object(text, what);
  if (!j) return j.error();
  std::string kind = "exec";
  SBX_CHECK(get_string(*j, "kind", kind));
  if (kind != "exec" && kind != "tcp" && kind != "egress") return err("open request: unknown kind '" + kind + "'");
  return kind;
}

Result<TcpConnectRequest> parse_tcp_connect(std::string_view text) {
  const char* what = "tcp connect request";
  auto j = parse_json_object(text, what);
  if (!j) return j.error();
  TcpConnectRequest r;
  if (!j->contains("port")) return err("tcp connect request: missing port");
  SBX_CHECK(get_string(*j, "host", r.host));
  SBX_CHECK(get_int(*j, "port", r.port, 1, 65535));
  if (r.host.empty() || r.host.size() > 253) return err("tcp connect request: bad host");
  return r;
}

std::string to_json(const EgressOpen& r) {
  json j{{"kind", "egress"}, {"mode", r.mode}};
  if (r.mode == "transparent") {
    j["ip"] = r.ip;
    j["port"] = r.port;
  }
  return dump_json(j);
}

Result<EgressOpen> parse_egress_open(std::string_view text) {
  const char* what = "egress open request";
  auto j = parse_json_object(text, what);
  if (!j) return j.error();
  EgressOpen r;
  SBX_CHECK(get_string(*j, "mode", r.mode));
  if (r.mode == "forward") return r;
  if (r.mode != "transparent") return err("egress open request: unknown mode '" + r.mode.substr(0, 32) + "'");
  if (!j->contains("ip") || !j->contains("port"))
    return err("egress open request: transparent needs ip and port");
  SBX_CHECK(get_string(*j, "ip", r.ip));
  SBX_CHECK(get_int(*j, "port", r.port, 1, 65535));
  in6_addr a6;
  in_addr a4;
  if (r.ip.size() > 45 || (inet_pton(AF_INET, r.ip.c_str(), &a4) != 1 &&
                           inet_pton(AF_INET6, r.ip.c_str(), &a6) != 1))
    return err("egress open request: ip is not an address literal");
  return r;
}

std::string to_json(const ExitInfo& e) {
  return dump_json(json{{"exit_code", e.exit_code}, {"signal", e.signal}});
}

Result<ExitInfo> parse_exit(std::string_view text) {
  const char* what = "exit message";
  auto j = parse_json_object(text, what);
  if (!j) return j.error();
  ExitInfo e;
  SBX_CHECK(get_int(*j, "exit_code", e.exit_code, 0, 255));
  SBX_CHECK(get_int(*j, "signal", e.signal, 0, 128));
  return e;
}

std::string to_json(const OpenFailure& f) {
  return dump_json(json{{"error", f.error}, {"code", f.code}});
}

Result<OpenFailure> parse_open_failure(std::string_view text) {
  const char* what = "open failure";
  auto j = parse_json_object(text, what);
  if (!j) return j.error();
  OpenFailure f;
  SBX_CHECK(get_string(*j, "error", f.error));
  SBX_CHECK(get_int(*j, "code", f.code, 0, 255));
  return f;
}

std::string to_json(const ControlRequest& r) {
  return dump_json(json{{"id", r.id}, {"op", r.op}});
}

Result<ControlRequest> parse_control_request(std::string_view text) {
  const char* what = "control request";
  auto j = parse_json_object(text, what);
  if (!j) return j.error();
  ControlRequest r;
  SBX_CHECK(get_int(*j, "id", r.id, 0, INT64_MAX));
  SBX_CHECK(get_string(*j, "op", r.op));
  if (r.op.empty()) return err("control request: missing op");
  return r;
}

std::string to_json(const ControlResponse& r) {
  json body = json::parse(r.body.empty() ? "{}" : r.body, nullptr, false);
  if (body.is_discarded()) body = json::object();
  return dump_json(json{{"id", r.id}, {"ok", r.ok}, {"error", r.error}, {"body", body}});
}

Result<ControlResponse> parse_control_response(std::string_view text) {
  const char* what = "control response";
  auto j = parse_json_object(text, what);
  if (!j) return j.error();
  ControlResponse r;
  SBX_CHECK(get_int(*j, "id", r.id, 0, INT64_MAX));
  SBX_CHECK(get_bool(*j, "ok", r.ok));
  SBX_CHECK(get_string(*j, "error", r.error));
  auto it = j->find("body");
  r.body = (it != j->end() && it->is_object()) ? dump_json(*it) : "{}";
  return r;
}

}  // namespace sbx::proto
