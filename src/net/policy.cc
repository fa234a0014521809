#include "net/policy.h"

#include <algorithm>

#include "base/strings.h"
#include "net/hostname.h"

namespace sbx::net {

const char* action_name(Action a) { return a == Action::kAllow ? "allow" : "deny"; }

Result<Action> parse_action(std::string_view s) {
  if (s == "allow") return Action::kAllow;
  if (s == "deny") return Action::kDeny;
  return err("unknown action '" + std::string(s) + "' (allow or deny)");
}

const char* preset_name(Preset p) {
  switch (p) {
    case Preset::kAllowAll: return "allow-all";
    case Preset::kBalanced: return "balanced";
    case Preset::kDenyAll: return "deny-all";
  }
  return "?";
}

Result<Preset> parse_preset(std::string_view s) {
  if (s == "allow-all") return Preset::kAllowAll;
  if (s == "balanced") return Preset::kBalanced;
  if (s == "deny-all") return Preset::kDenyAll;
  return err("unknown policy preset '" + std::string(s) +
             "' (allow-all, balanced or deny-all)");
}

std::string Resource::to_string() const {
  std::string base;
  switch (kind) {
    case Kind::kDomain: base = host; break;
    case Kind::kWildcard: base = "*." + host; break;
    case Kind::kCidr: base = cidr.to_string(); break;
  }
  if (!port) return base;
  // A bare IPv6 address needs brackets before ":port".
  if (kind == Kind::kCidr && cidr.base.v6) base = "[" + base + "]";
  return base + ":" + std::to_string(*port);
}

namespace {

Result<uint16_t> parse_port(std::string_view s) {
  if (s.empty() || s.size() > 5) return err("bad port '" + std::string(s) + "'");
  auto n = parse_uint(s);
  if (!n || *n == 0 || *n > 65535) return err("bad port '" + std::string(s) + "'");
  return static_cast<uint16_t>(*n);
}

Result<Resource> parse_resource_inner(std::string_view t) {
  Resource r;
  if (t.empty()) return err("empty resource");
  std::string_view body = t;
  // Bracketed IPv6, optionally with a port: "[::1]:22", "[fd00::/8]:443".
  if (t.front() == '[') {
    auto close = t.find(']');
    if (close == std::string_view::npos) return err("missing ']'");
    body = t.substr(1, close - 1);
    auto rest = t.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return err("junk after ']'");
      auto p = parse_port(rest.substr(1));
      if (!p) return p.error();
      r.port = *p;
    }
    auto c = parse_cidr(body);
    if (!c) return c.error();
    if (!c->base.v6) return err("brackets are only for IPv6 addresses");
    r.kind = Resource::Kind::kCidr;
    r.cidr = *c;
    return r;
  }
  // Unbracketed: more than one ':' means a bare IPv6 address or range (no port).
  size_t colons = 0;
  for (char c : t) colons += c == ':';
  if (colons > 1) {
    auto c = parse_cidr(t);
    if (!c) return c.error();
    r.kind = Resource::Kind::kCidr;
    r.cidr = *c;
    return r;
  }
  if (colons == 1) {
    auto pos = t.rfind(':');
    auto p = parse_port(t.substr(pos + 1));
    if (!p) return p.error();
    r.port = *p;
    body = t.substr(0, pos);
  }
  if (body.empty()) return err("missing host");
  // IPv4 address or range. Lenient forms ("127.1") are refused here: rules
  // should be written the way they are displayed.
  bool digits_dots_slash = body.find_first_not_of("0123456789./") == std::string_view::npos;
  if (digits_dots_slash || body.find('/') != std::string_view::npos) {
    auto c = parse_cidr(body);
    if (!c) return c.error();
    r.kind = Resource::Kind::kCidr;
    r.cidr = *c;
    return r;
  }
  if (parse_ip_lenient(body))
    return err("write IPv4 addresses in dotted-quad form (a.b.c.d)");
  if (starts_with(body, "*.")) {
    auto h = normalize_host(body.substr(2));
    if (!h) return h.error();
    r.kind = Resource::Kind::kWildcard;
    r.host = *h;
    return r;
  }
  if (body.find('*') != std::string_view::npos)
    return err("'*' is only allowed as a leading '*.' label");
  auto h = normalize_host(body);
  if (!h) return h.error();
  r.kind = Resource::Kind::kDomain;
  r.host = *h;
  return r;
}

// The host part of "https://host:port/path", "host:port" or "host".
std::string host_of(std::string_view s) {
  s = std::string_view(s).substr(0, 2048);
  if (auto p = s.find("://"); p != std::string_view::npos) s = s.substr(p + 3);
  if (auto p = s.find_first_of("/?#"); p != std::string_view::npos) s = s.substr(0, p);
  if (auto p = s.rfind('@'); p != std::string_view::npos) s = s.substr(p + 1);
  if (!s.empty() && s.front() == '[') return std::string(s);  // IPv6: kept whole
  if (auto p = s.find(':'); p != std::string_view::npos) s = s.substr(0, p);
  return trim(s);
}

bool port_matches(const Rule& r, uint16_t port) {
  if (port == 0) return r.action == Action::kAllow || !r.resource.port;
  if (r.resource.port) return *r.resource.port == port;
  return r.action == Action::kDeny || port == 80 || port == 443;
}

bool host_matches(const Resource& res, std::string_view host) {
  if (host.empty()) return false;
  if (res.kind == Resource::Kind::kDomain) return host == res.host;
  if (res.kind == Resource::Kind::kWildcard) return is_strict_subdomain(host, res.host);
  return false;
}

bool matches(const Rule& r, std::string_view host, const std::optional<IpAddress>& ip,
             uint16_t port) {
  if (!port_matches(r, port)) return false;
  if (r.resource.kind == Resource::Kind::kCidr) return ip && r.resource.cidr.contains(*ip);
  return host_matches(r.resource, host);
}

bool applies(const Rule& r, std::string_view sandbox) {
  return r.sandbox.empty() || r.sandbox == sandbox;
}

Decision from_rule(const Rule& r) {
  return Decision{r.action == Action::kAllow, r.id, r.describe()};
}

}  // namespace

Result<Resource> parse_resource(std::string_view text) {
  std::string t = trim(text);
  auto r = parse_resource_inner(t);
  if (!r) return r.error().wrap("invalid rule '" + t + "'");
  return r;
}

Result<std::vector<Resource>> parse_resource_list(std::string_view text) {
  std::vector<Resource> out;
  for (const auto& item : split(text, ',')) {
    if (trim(item).empty()) continue;
    auto r = parse_resource(item);
    if (!r) return r.error();
    if (std::find(out.begin(), out.end(), *r) == out.end()) out.push_back(std::move(*r));
  }
  if (out.empty()) return err("invalid rule '" + trim(text) + "': no resources given");
  return out;
}

std::string Rule::describe() const {
  std::string s = std::string(action_name(action)) + " " + resource.to_string() + " (";
  s += sandbox.empty() ? "global" : "sandbox " + sandbox;
  if (id != 0) s += ", id " + std::to_string(id);
  return s + ")";
}

std::vector<Rule> preset_rules(Preset p, const PresetInputs& inputs) {
  std::vector<Rule> out;
  if (p != Preset::kBalanced) return out;
  static constexpr const char* kFixed[] = {
      // AI provider APIs (and the login endpoints their CLIs use).
      "api.anthropic.com", "console.anthropic.com", "statsig.anthropic.com",
      "api.openai.com", "auth.openai.com", "generativelanguage.googleapis.com",
      "oauth2.googleapis.com", "api.githubcopilot.com", "api.mistral.ai",
      // Package registries.
      "deb.debian.org", "security.debian.org", "registry.npmjs.org", "registry.yarnpkg.com",
      "pypi.org", "files.pythonhosted.org", "crates.io", "static.crates.io", "index.crates.io",
      "proxy.golang.org", "sum.golang.org", "rubygems.org", "repo.maven.apache.org",
      // Code hosts.
      "github.com", "*.github.com", "*.githubusercontent.com", "gitlab.com",
      "bitbucket.org", "codeload.github.com",
      // Container registries.
      "registry-1.docker.io", "auth.docker.io", "production.cloudflare.docker.com",
      "ghcr.io", "pkg-containers.githubusercontent.com", "quay.io", "cdn.quay.io"};
  auto add = [&](std::string_view text) {
    auto r = parse_resource(text);
    if (!r || r->kind == Resource::Kind::kCidr) return;  // host input only
    Rule rule;
    rule.action = Action::kAllow;
    rule.resource = std::move(*r);
    for (const auto& existing : out)
      if (existing.resource == rule.resource) return;
    out.push_back(std::move(rule));
  };
  for (auto h : kFixed) add(h);
  for (const auto& h : inputs.apt_hosts) add(host_of(h));
  if (!inputs.npm_registry.empty()) add(host_of(inputs.npm_registry));
  return out;
}

Policy make_policy(Preset p, const PresetInputs& inputs, std::vector<Rule> rules) {
  return Policy{p, preset_rules(p, inputs), std::move(rules), {}};
}

Decision decide(const Policy& policy, std::string_view sandbox, const Target& target) {
  if (!policy.deny_all.empty()) return Decision{false, 0, policy.deny_all};
  std::string host;
  std::optional<IpAddress> ip = target.ip;
  if (!target.host.empty()) {
    if (auto lit = parse_ip_lenient(target.host)) {
      // The name is an address in disguise: decide on the address only.
      ip = *lit;
    } else {
      auto h = normalize_host(target.host);
      if (!h) return Decision{false, 0, "invalid host name: " + h.error().message};
      host = *h;
    }
  }
  if (host.empty() && !ip) return Decision{false, 0, "no host or address to decide on"};

  // 1. Any matching deny rule wins.
  for (const auto& r : policy.rules)
    if (r.action == Action::kDeny && applies(r, sandbox) && matches(r, host, ip, target.port))
      return from_rule(r);

  // 2. Non-public addresses need an explicit IP/CIDR allow rule.
  if (ip && !is_public(*ip)) {
    for (const auto& r : policy.rules)
      if (r.action == Action::kAllow && applies(r, sandbox) &&
          r.resource.kind == Resource::Kind::kCidr && matches(r, host, ip, target.port))
        return from_rule(r);
    return Decision{false, 0,
                    "address " + ip->to_string() + " is " + class_name(classify(*ip)) +
                        " (only an IP/CIDR rule can allow it)"};
  }

  // 3. Allow rules: the user's, then the preset's allowlist.
  for (const auto& r : policy.rules)
    if (r.action == Action::kAllow && applies(r, sandbox) && matches(r, host, ip, target.port))
      return from_rule(r);
  for (const auto& r : policy.builtin)
    if (matches(r, host, ip, target.port))
      return Decision{true, 0,
                      std::string("preset ") + preset_name(policy.preset) + ": " +
                          r.resource.to_string()};

  // 4. The preset's default.
  if (policy.preset == Preset::kAllowAll) {
    // allow-all means every port of every public destination.
    return Decision{true, 0, "default policy allow-all"};
  }
  return Decision{false, 0, std::string("default policy ") + preset_name(policy.preset)};
}

}  // namespace sbx::net
