#include "daemon/secret_routes.h"

#include <nlohmann/json.hpp>

#include "net/hostname.h"
#include "proto/secret_api.h"

namespace sbx::daemon {

namespace {

bool valid_env_name(const std::string& v) {
  if (v.empty() || v.size() > 128 || std::isdigit(static_cast<unsigned char>(v[0]))) return false;
  for (unsigned char c : v)
    if (!std::isalnum(c) && c != '_') return false;
  return true;
}

bool valid_header_name(const std::string& h) {
  if (h.empty() || h.size() > 128) return false;
  for (unsigned char c : h)
    if (!std::isalnum(c) && std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos)
      return false;
  return true;
}

}  // namespace

void SecretRoutes::install(ApiRouter& r) {
  auto reply = [this](Result<ApiReply> (SecretRoutes::*f)(const ApiRequest&)) {
    return [this, f](const ApiRequest& req) { return (this->*f)(req); };
  };
  r.add("GET", "/v1/secrets", reply(&SecretRoutes::list));
  r.add("POST", "/v1/secrets", reply(&SecretRoutes::set));
  r.add("POST", "/v1/secrets/remove", reply(&SecretRoutes::remove));
  r.add("POST", "/v1/secrets/reset", reply(&SecretRoutes::reset));
  r.add("GET", "/v1/secrets/bypass", reply(&SecretRoutes::bypass_list));
  r.add("POST", "/v1/secrets/bypass", reply(&SecretRoutes::bypass_add));
  r.add("POST", "/v1/secrets/bypass/remove", reply(&SecretRoutes::bypass_remove));
}

Result<ApiReply> SecretRoutes::list(const ApiRequest&) {
  std::vector<proto::SecretInfo> out;
  for (const auto& s : store_.all()) {
    proto::SecretInfo i;
    i.scope = s.scope;
    i.service = s.service;
    i.source = "stored";
    i.custom = s.custom;
    if (s.custom) {
      i.hosts = s.hosts;
      i.env = s.env;
      i.header = s.header;
      i.placeholder = s.placeholder;
    } else if (auto* b = find_builtin_service(s.service)) {
      for (const auto& v : b->variants)
        for (const auto& h : v.hosts)
          if (std::find(i.hosts.begin(), i.hosts.end(), h.host) == i.hosts.end())
            i.hosts.push_back(h.host);
    }
    out.push_back(std::move(i));
  }
  for (const auto& e : resolver_.from_host_env()) {
    proto::SecretInfo i;
    i.service = e.service;
    i.source = e.source;
    if (auto* b = find_builtin_service(e.service))
      for (const auto& v : b->variants)
        for (const auto& h : v.hosts)
          if (std::find(i.hosts.begin(), i.hosts.end(), h.host) == i.hosts.end())
            i.hosts.push_back(h.host);
    out.push_back(std::move(i));
  }
  return ApiReply{200, proto::to_json(out)};
}

Result<ApiReply> SecretRoutes::set(const ApiRequest& req) {
  auto in = proto::parse_secret_set_request(req.body);
  if (!in) return in.error();
  if (!in->scope.empty())
    if (auto s = manager_.get(in->scope); !s) return s.error();
  StoredSecret s;
  s.scope = in->scope;
  s.value = in->value;
  if (s.scope.empty()) {
    // A global secret is for sandboxes created from now on (the store keeps
    // this list when the secret is only replaced).
    auto existing = manager_.list();
    if (!existing) return existing.error().wrap("secret");
    for (const auto& sb : *existing) s.not_for.push_back(sb.name);
  }
  if (!in->custom) {
    if (!find_builtin_service(in->service)) {
      std::string names;
      for (const auto& b : builtin_services()) names += (names.empty() ? "" : ", ") + b.name;
      return err(kBadRequest, "unknown service '" + in->service + "' (built-in: " + names +
                                  "); for another service use 'sbx secret set-custom'");
    }
    s.service = in->service;
  } else {
    if (!valid_env_name(in->env))
      return err(kBadRequest, "--env '" + in->env + "' is not a variable name");
    if (in->hosts.empty()) return err(kBadRequest, "a custom secret needs at least one --host");
    for (const auto& h : in->hosts) {
      auto n = net::normalize_host(h);
      if (!n) return err(kBadRequest, "--host '" + h + "': " + n.error().message);
      s.hosts.push_back(*n);
    }
    if (!in->header.empty() && !valid_header_name(in->header))
      return err(kBadRequest, "--header '" + in->header + "' is not a header name");
    if (!in->placeholder.empty() &&
        (in->placeholder.size() < 8 || !validate_secret_value(in->placeholder)))
      return err(kBadRequest, "--placeholder must be 8 or more characters on one line");
    s.custom = true;
    s.service = in->env;
    s.env = in->env;
    s.header = in->header;
    // Without a header the placeholder is the only way in: make one up.
    s.placeholder = in->placeholder.empty() && in->header.empty() ? "sbx-placeholder-" + in->env
                                                                  : in->placeholder;
  }
  if (auto r = store_.set(std::move(s)); !r) return r.error();
  return ApiReply{201, "{}"};
}

Result<ApiReply> SecretRoutes::remove(const ApiRequest& req) {
  auto j = nlohmann::json::parse(req.body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("service") || !j["service"].is_string() ||
      (j.contains("scope") && !j["scope"].is_string()))
    return err(kBadRequest, "secret remove: want {\"scope\": ..., \"service\": ...}");
  std::string scope = j.value("scope", "");
  if (auto r = store_.remove(scope, j["service"].get<std::string>()); !r) return r.error();
  return ApiReply{200, "{}"};
}

Result<ApiReply> SecretRoutes::bypass_list(const ApiRequest&) {
  std::vector<proto::SecretBypass> out;
  for (const auto& b : store_.bypasses()) out.push_back({b.scope, b.host});
  return ApiReply{200, proto::to_json(out)};
}

Result<proto::SecretBypass> SecretRoutes::bypass_of(const ApiRequest& req) {
  auto in = proto::parse_secret_bypass(req.body);
  if (!in) return in.error();
  auto host = net::normalize_host(in->host);
  if (!host) return err(kBadRequest, "bypass host '" + in->host + "': " + host.error().message);
  in->host = *host;
  return in;
}

Result<ApiReply> SecretRoutes::bypass_add(const ApiRequest& req) {
  auto in = bypass_of(req);
  if (!in) return in.error();
  if (!in->scope.empty())
    if (auto s = manager_.get(in->scope); !s) return s.error();
  if (auto r = store_.add_bypass(in->scope, in->host); !r) return r.error();
  return ApiReply{201, "{}"};
}

Result<ApiReply> SecretRoutes::bypass_remove(const ApiRequest& req) {
  auto in = bypass_of(req);
  if (!in) return in.error();
  if (auto r = store_.remove_bypass(in->scope, in->host); !r) return r.error();
  return ApiReply{200, "{}"};
}

Result<ApiReply> SecretRoutes::reset(const ApiRequest&) {
  if (auto r = store_.clear(); !r) return r.error();
  return ApiReply{200, "{}"};
}

}  // namespace sbx::daemon
