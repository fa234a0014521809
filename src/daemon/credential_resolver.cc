#include "daemon/credential_resolver.h"

#include <unistd.h>

#include <algorithm>

extern char** environ;

namespace sbx::daemon {

namespace {

using net::CredentialFormat;

// A stored anthropic secret that is a subscription (OAuth) token goes in as
// a bearer token, as Claude Code sends CLAUDE_CODE_OAUTH_TOKEN.
bool is_anthropic_oauth(const std::string& v) { return v.rfind("sk-ant-oat", 0) == 0; }

// The stored secret for (sandbox, service): the sandbox's, else the global
// one unless the sandbox existed before it was set.
const StoredSecret* stored(const std::vector<StoredSecret>& all, const std::string& sandbox,
                           const std::string& service, bool custom) {
  const StoredSecret* global = nullptr;
  for (const auto& s : all) {
    if (s.service != service || s.custom != custom) continue;
    if (!sandbox.empty() && s.scope == sandbox) return &s;
    if (s.scope.empty() &&
        std::find(s.not_for.begin(), s.not_for.end(), sandbox) == s.not_for.end())
      global = &s;
  }
  return global;
}

}  // namespace

const std::vector<BuiltinService>& builtin_services() {
  static const std::vector<BuiltinService> kServices = {
      {"anthropic",
       {{{"ANTHROPIC_API_KEY"}, {{"api.anthropic.com", "x-api-key", CredentialFormat::kRaw}}},
        {{"CLAUDE_CODE_OAUTH_TOKEN"},
         {{"api.anthropic.com", "Authorization", CredentialFormat::kBearer}}}}},
      {"openai",
       {{{"OPENAI_API_KEY"}, {{"api.openai.com", "Authorization", CredentialFormat::kBearer}}}}},
      {"github",
       {{{"GH_TOKEN", "GITHUB_TOKEN"},
         {{"api.github.com", "Authorization", CredentialFormat::kBearer},
          {"github.com", "Authorization", CredentialFormat::kBasicToken}}}}},
      {"google",
       {{{"GEMINI_API_KEY", "GOOGLE_API_KEY"},
         {{"generativelanguage.googleapis.com", "x-goog-api-key", CredentialFormat::kRaw}}}}},
  };
  return kServices;
}

const BuiltinService* find_builtin_service(const std::string& name) {
  for (const auto& s : builtin_services())
    if (s.name == name) return &s;
  return nullptr;
}

CredentialResolver::CredentialResolver(const SecretStore& store,
                                       const std::map<std::string, std::string>& host_env)
    : store_(store) {
  for (const auto& s : builtin_services())
    for (const auto& v : s.variants)
      for (const auto& var : v.env)
        if (auto it = host_env.find(var);
            it != host_env.end() && !it->second.empty() && validate_secret_value(it->second))
          host_env_[var] = it->second;
}

std::map<std::string, std::string> CredentialResolver::process_env() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return env;
}

std::vector<CredentialResolver::Resolved> CredentialResolver::resolve(
    const BuiltinService& s, const std::vector<StoredSecret>& all,
    const std::string& sandbox) const {
  if (const StoredSecret* st = stored(all, sandbox, s.name, false)) {
    size_t v = (s.name == "anthropic" && is_anthropic_oauth(st->value)) ? 1 : 0;
    return {Resolved{&s.variants[v], st->value}};
  }
  std::vector<Resolved> out;
  for (const auto& v : s.variants)
    for (const auto& var : v.env)
      if (auto it = host_env_.find(var); it != host_env_.end()) {
        out.push_back(Resolved{&v, it->second});
        break;
      }
  return out;
}

std::vector<net::CredentialRule> CredentialResolver::rules_for(const std::string& sandbox,
                                                               const std::string& host) const {
  std::vector<net::CredentialRule> rules;
  auto all = store_.all();
  for (const auto& s : builtin_services())
    for (const auto& r : resolve(s, all, sandbox))
      for (const auto& h : r.variant->hosts)
        if (h.host == host) rules.push_back({s.name, h.header, h.format, "", r.value});
  // Custom services: the sandbox's definition wins over a global one.
  for (const auto& s : all) {
    if (!s.custom || stored(all, sandbox, s.service, true) != &s) continue;
    for (const auto& h : s.hosts)
      if (h == host)
        rules.push_back({s.service, s.header, CredentialFormat::kRaw, s.placeholder, s.value});
  }
  return rules;
}

bool CredentialResolver::bypassed(const std::string& sandbox, const std::string& host) const {
  for (const auto& b : store_.bypasses())
    if (b.host == host && (b.scope.empty() || b.scope == sandbox)) return true;
  return false;
}

std::vector<std::string> CredentialResolver::guest_env(const std::string& sandbox) const {
  std::vector<std::string> env;
  auto all = store_.all();
  for (const auto& s : builtin_services())
    for (const auto& r : resolve(s, all, sandbox))
      for (const auto& var : r.variant->env) env.push_back(var + "=" + net::kProxyManagedSentinel);
  for (const auto& s : all) {
    if (!s.custom || stored(all, sandbox, s.service, true) != &s || s.env.empty()) continue;
    env.push_back(
        s.env + "=" +
        (s.placeholder.empty() ? std::string(net::kProxyManagedSentinel) : s.placeholder));
  }
  return env;
}

std::vector<EffectiveSecret> CredentialResolver::from_host_env() const {
  std::vector<EffectiveSecret> out;
  for (const auto& s : builtin_services())
    for (const auto& v : s.variants)
      for (const auto& var : v.env)
        if (host_env_.count(var)) {
          out.push_back({s.name, "env " + var});
          break;
        }
  return out;
}

}  // namespace sbx::daemon
