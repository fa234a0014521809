#include "proto/secret_api.h"

#include <nlohmann/json.hpp>

#include "proto/json_util.h"

namespace sbx::proto {

using nlohmann::json;

namespace {

Result<json> object_of(std::string_view text, const char* what) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return err(400, std::string(what) + ": not valid JSON");
  return j;
}

Result<void> first(std::initializer_list<Result<void>> reads) {
  for (auto& r : reads)
    if (!r) return r;
  return ok();
}

}  // namespace

std::string to_json(const std::vector<SecretInfo>& list) {
  json arr = json::array();
  for (const auto& s : list) {
    json j{{"scope", s.scope}, {"service", s.service}, {"source", s.source}, {"hosts", s.hosts}};
    if (s.custom) {
      j["custom"] = true;
      j["env"] = s.env;
      j["header"] = s.header;
      j["placeholder"] = s.placeholder;
    }
    arr.push_back(std::move(j));
  }
  return dump_json(arr);
}

Result<std::vector<SecretInfo>> parse_secret_list(std::string_view text) {
  auto j = object_of(text, "secret list");
  if (!j) return j.error();
  if (!j->is_array()) return err("secret list: not an array");
  std::vector<SecretInfo> out;
  for (const auto& e : *j) {
    if (!e.is_object()) return err("secret list: holds a non-object");
    SecretInfo s;
    if (auto r =
            first({json_field(e, "scope", s.scope), json_required(e, "service", s.service),
                   json_field(e, "source", s.source), json_field(e, "custom", s.custom),
                   json_field(e, "hosts", s.hosts), json_field(e, "env", s.env),
                   json_field(e, "header", s.header), json_field(e, "placeholder", s.placeholder)});
        !r)
      return r.error().wrap("secret list");
    out.push_back(std::move(s));
  }
  return out;
}

std::string to_json(const SecretSetRequest& r) {
  json j{{"scope", r.scope}, {"service", r.service}, {"value", r.value}};
  if (r.custom) {
    j["custom"] = true;
    j["hosts"] = r.hosts;
    j["env"] = r.env;
    j["header"] = r.header;
    j["placeholder"] = r.placeholder;
  }
  return dump_json(j);
}

Result<SecretSetRequest> parse_secret_set_request(std::string_view text) {
  auto j = object_of(text, "secret");
  if (!j) return j.error();
  if (!j->is_object()) return err(400, "secret: not an object");
  SecretSetRequest r;
  if (auto x =
          first({json_field(*j, "scope", r.scope), json_required(*j, "service", r.service),
                 json_required(*j, "value", r.value), json_field(*j, "custom", r.custom),
                 json_field(*j, "hosts", r.hosts), json_field(*j, "env", r.env),
                 json_field(*j, "header", r.header), json_field(*j, "placeholder", r.placeholder)});
      !x) {
    Error e = x.error().wrap("secret");
    e.code = 400;
    return e;
  }
  if (r.hosts.size() > 64) return err(400, "secret: more than 64 hosts");
  return r;
}

namespace {

json bypass_json(const SecretBypass& b) { return json{{"scope", b.scope}, {"host", b.host}}; }

Result<SecretBypass> bypass_of(const json& j) {
  if (!j.is_object()) return err(400, "secret bypass: not an object");
  SecretBypass b;
  if (auto r = first({json_field(j, "scope", b.scope), json_required(j, "host", b.host)}); !r) {
    Error e = r.error().wrap("secret bypass");
    e.code = 400;
    return e;
  }
  return b;
}

}  // namespace

std::string to_json(const SecretBypass& b) { return dump_json(bypass_json(b)); }

Result<SecretBypass> parse_secret_bypass(std::string_view text) {
  auto j = object_of(text, "secret bypass");
  if (!j) return j.error();
  return bypass_of(*j);
}

std::string to_json(const std::vector<SecretBypass>& list) {
  json arr = json::array();
  for (const auto& b : list) arr.push_back(bypass_json(b));
  return dump_json(arr);
}

Result<std::vector<SecretBypass>> parse_secret_bypass_list(std::string_view text) {
  auto j = object_of(text, "secret bypass list");
  if (!j) return j.error();
  if (!j->is_array()) return err("secret bypass list: not an array");
  std::vector<SecretBypass> out;
  for (const auto& e : *j) {
    auto b = bypass_of(e);
    if (!b) return b.error();
    out.push_back(std::move(*b));
  }
  return out;
}

}  // namespace sbx::proto
