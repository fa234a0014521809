#include "daemon/policy_service.h"

#include <algorithm>

#include "base/child_process.h"
#include "base/strings.h"
#include "image/apt_sources.h"
#include "net/address.h"
#include "net/hostname.h"
#include "net/http_parser.h"

namespace sbx::daemon {

std::vector<std::string> apt_hosts_of(const std::vector<std::string>& uris) {
  std::vector<std::string> hosts;
  for (auto& u : uris) {
    auto scheme = u.find("://");
    if (scheme == std::string::npos) continue;  // file:, cdrom: and the like
    std::string rest = u.substr(scheme + 3);
    std::string host = rest.substr(0, rest.find('/'));
    if (auto at = host.rfind('@'); at != std::string::npos) host = host.substr(at + 1);
    host = to_lower(host.substr(0, host.find(':')));
    if (!host.empty() && std::find(hosts.begin(), hosts.end(), host) == hosts.end())
      hosts.push_back(host);
  }
  return hosts;
}

Result<std::unique_ptr<PolicyService>> PolicyService::open(const std::string& path, Logger& log) {
  auto s = net::PolicyStore::open(path);
  if (!s) return s.error().wrap("open policy");
  return std::unique_ptr<PolicyService>(new PolicyService(std::move(*s), log));
}

const net::PresetInputs& PolicyService::inputs() {
  std::lock_guard l(mu_);
  if (!inputs_) {
    net::PresetInputs in;
    std::vector<std::string> uris;
    if (auto src = image::read_apt_sources(); src) {
      for (auto& s : *src)
        if (s.enabled) uris.insert(uris.end(), s.uris.begin(), s.uris.end());
    }
    in.apt_hosts = apt_hosts_of(uris);
    // The npm registry the host's npm uses, when npm is installed.
    if (!find_program("npm").empty()) {
      if (auto r = run_command({"npm", "config", "get", "registry"}); r && r->status.exited &&
                                                                      r->status.code == 0)
        in.npm_registry = trim(r->output);
    }
    log_.info("policy: balanced preset includes apt hosts [" + join(in.apt_hosts, ", ") +
              "] and npm registry " + (in.npm_registry.empty() ? "(default)" : in.npm_registry));
    inputs_ = std::move(in);
  }
  return *inputs_;
}

Result<proto::PolicyListing> PolicyService::listing() {
  auto preset = store_->preset();
  if (!preset) return preset.error();
  auto rules = store_->list();
  if (!rules) return rules.error();
  proto::PolicyListing out;
  out.preset = net::preset_name(*preset);
  for (auto& r : *rules)
    out.rules.push_back(proto::PolicyRule{r.id, r.sandbox.empty() ? "global" : r.sandbox,
                                          std::string(net::action_name(r.action)),
                                          r.resource.to_string()});
  for (auto& r : net::preset_rules(*preset, inputs()))
    out.builtin.push_back(std::string(net::action_name(r.action)) + " " + r.resource.to_string());
  return out;
}

Result<std::vector<int64_t>> PolicyService::add(const std::string& sandbox, net::Action action,
                                                const std::string& resources) {
  auto r = store_->add(sandbox, action, resources);
  if (!r) return err(kBadRequest, r.error().message);
  rebuild();
  return r;
}

Result<size_t> PolicyService::remove_id(int64_t id) {
  auto r = store_->remove(id);
  if (!r) return Error{r.error().message, r.error().code ? r.error().code : kNotFound};
  rebuild();
  return size_t{1};
}

Result<size_t> PolicyService::remove_resource(const std::string& sandbox, const std::string& resource) {
  auto n = store_->remove_resource(sandbox, resource);
  if (!n) return Error{n.error().message, n.error().code ? n.error().code : kBadRequest};
  if (*n == 0)
    return err(kNotFound, "no " + std::string(sandbox.empty() ? "global" : "sandbox '" + sandbox + "'") +
                              " rule for '" + resource + "'; see 'sbx policy ls'");
  rebuild();
  return n;
}

Result<size_t> PolicyService::forget_sandbox(const std::string& sandbox) {
  auto rules = store_->list(sandbox);
  if (!rules) return rules.error();
  size_t n = 0;
  for (auto& r : *rules) {
    if (r.sandbox != sandbox) continue;  // global rules stay
    if (auto x = store_->remove(r.id); !x) {
      rebuild();
      return x.error();
    }
    ++n;
  }
  if (n) rebuild();
  return n;
}

Result<void> PolicyService::init(const std::string& preset) {
  auto p = net::parse_preset(preset);
  if (!p) return err(kBadRequest, p.error().message);
  auto r = store_->set_preset(*p);
  rebuild();
  return r;
}

Result<void> PolicyService::reset() {
  auto r = store_->reset();
  rebuild();
  return r;
}

void PolicyService::rebuild() {
  const net::PresetInputs& in = inputs();
  // Loading under the lock keeps two concurrent edits from publishing their
  // snapshots out of order.
  std::lock_guard l(policy_mu_);
  auto p = store_->load(in);
  if (!p) {
    log_.error("policy: cannot load the rules, keeping the previous policy: " + p.error().message);
    return;
  }
  current_ = std::make_shared<const net::Policy>(std::move(*p));
}

std::shared_ptr<const net::Policy> PolicyService::current() {
  {
    std::lock_guard l(policy_mu_);
    if (current_) return current_;
  }
  rebuild();
  std::lock_guard l(policy_mu_);
  if (!current_) current_ = std::make_shared<const net::Policy>(net::make_policy(net::Preset::kDenyAll, {}, {}));
  return current_;
}

Result<net::Decision> PolicyService::check(const std::string& sandbox, const std::string& target) {
  auto hp = net::parse_authority(target, 443);
  if (!hp) return err(kBadRequest, "invalid target '" + target + "': " + hp.error().message);
  net::Target t;
  t.port = hp->port;
  if (auto ip = net::parse_ip(hp->host)) {
    t.ip = *ip;
  } else {
    auto h = net::normalize_host(hp->host);
    if (!h) return err(kBadRequest, "invalid target '" + target + "': " + h.error().message);
    t.host = *h;
  }
  // The same policy the proxy decides by.
  return net::decide(*current(), sandbox, t);
}

}  // namespace sbx::daemon
