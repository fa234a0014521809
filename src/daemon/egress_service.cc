#include "daemon/egress_service.h"

#include <system_error>
#include <vector>

namespace sbx::daemon {

namespace {

net::EgressOptions proxy_options(const net::DnsNameCache& names, net::EgressOptions o = {}) {
  o.names = &names;
  return o;
}

/// Stops a link from handing us connections and DNS queries.
void unhook(AgentLink& link) {
  link.set_egress_handler(nullptr);
  link.set_dns_handler(nullptr);
}

std::shared_ptr<const net::Policy> make_deny_all() {
  net::Policy p = net::make_policy(net::Preset::kDenyAll, {}, {});
  p.deny_all = kDenyNetworkRule;
  return std::make_shared<const net::Policy>(std::move(p));
}

}  // namespace

Result<std::unique_ptr<EgressService>> EgressService::open(const std::string& log_path,
                                                           PolicyFn policy, Logger& log,
                                                           EgressLimits limits,
                                                           net::EgressOptions intercept) {
  auto netlog = net::NetworkLog::open(log_path, limits.log_rows);
  if (!netlog) return netlog.error().wrap("open network log");
  auto proxy = net::ProxySettings::from_process_env();
  if (proxy.http_proxy || proxy.https_proxy)
    log.info("egress: upstream connections go through the host's proxy (HTTP(S)_PROXY)");
  return std::make_unique<EgressService>(std::move(*netlog), std::move(policy),
                                         std::make_unique<net::SystemResolver>(), std::move(proxy),
                                         log, limits, std::move(intercept));
}

EgressService::EgressService(std::unique_ptr<net::NetworkLog> netlog, PolicyFn policy,
                             std::unique_ptr<net::Resolver> resolver, net::ProxySettings proxy,
                             Logger& log, EgressLimits limits, net::EgressOptions intercept)
    : log_(std::move(netlog)),
      resolver_(std::move(resolver)),
      connector_(std::move(proxy), *resolver_),
      deny_all_(make_deny_all()),
      proxy_(policy, *resolver_, connector_, log_.get(), proxy_options(names_, std::move(intercept))),
      deny_proxy_([d = deny_all_] { return d; }, *resolver_, connector_, log_.get()),
      dns_(policy, *resolver_, log_.get(), &names_),
      deny_dns_([d = deny_all_] { return d; }, *resolver_, log_.get()),
      logger_(log),
      limits_(limits) {}

EgressService::~EgressService() {
  std::vector<std::shared_ptr<AgentLink>> links;
  std::vector<std::shared_ptr<GuestStream>> streams;
  {
    std::lock_guard l(mu_);
    stopping_ = true;
    for (auto& [name, a] : attached_)
      if (auto link = a.link.lock()) links.push_back(std::move(link));
    attached_.clear();
    for (auto& w : workers_)
      if (w.stream) streams.push_back(w.stream);
  }
  wind_down(links, streams, [](const Worker&) { return true; });
}

void EgressService::attach(const std::string& sandbox, bool deny_network,
                           const std::shared_ptr<AgentLink>& link) {
  std::shared_ptr<AgentLink> previous;
  uint64_t gen;
  {
    std::lock_guard l(mu_);
    if (stopping_) return;
    auto& a = attached_[sandbox];
    previous = a.link.lock();
    gen = next_generation_++;
    a.deny_network = deny_network;
    a.link = link;
    a.generation = gen;
    a.dns_in_flight = 0;
  }
  if (previous && previous != link) unhook(*previous);
  link->set_egress_handler([this, sandbox, gen](std::shared_ptr<GuestChannel> ch,
                                                proto::EgressOpen open) {
    return on_egress(sandbox, gen, std::move(ch), std::move(open));
  });
  link->set_dns_handler(
      [this, sandbox, gen](proto::Datagram d) { on_dns(sandbox, gen, std::move(d)); });
  logger_.info("egress: serving sandbox " + sandbox +
               (deny_network ? " (--deny-network: everything is denied)" : ""));
}

void EgressService::detach(const std::string& sandbox) {
  std::shared_ptr<AgentLink> link;
  std::vector<std::shared_ptr<GuestStream>> streams;
  {
    std::lock_guard l(mu_);
    auto it = attached_.find(sandbox);
    if (it == attached_.end()) return;
    link = it->second.link.lock();
    // From here on its handlers refuse (their generation is gone).
    attached_.erase(it);
    names_.forget(sandbox);
    for (auto& w : workers_)
      if (w.sandbox == sandbox && w.stream) streams.push_back(w.stream);
  }
  std::vector<std::shared_ptr<AgentLink>> links;
  if (link) links.push_back(std::move(link));
  wind_down(links, streams, [&](const Worker& w) { return w.sandbox == sandbox; });
}

void EgressService::wind_down(const std::vector<std::shared_ptr<AgentLink>>& links,
                              const std::vector<std::shared_ptr<GuestStream>>& streams,
                              const std::function<bool(const Worker&)>& mine) {
  // Outside mu_: a setter waits for a handler that may be taking mu_.
  for (const auto& link : links) unhook(*link);
  for (const auto& s : streams) s->abort();
  std::unique_lock l(mu_);
  changed_.wait(l, [&] {
    for (auto& w : workers_)
      if (mine(w) && !w.done) return false;
    return true;
  });
  reap();
}

size_t EgressService::active_workers() {
  std::lock_guard l(mu_);
  size_t n = 0;
  for (auto& w : workers_)
    if (!w.done) ++n;
  return n;
}

void EgressService::reap() {
  // A worker marks itself done as its last step under mu_, so joining here
  // (with mu_ held) waits for nothing but its return.
  for (auto it = workers_.begin(); it != workers_.end();) {
    if (it->done) {
      it->thread.join();
      it = workers_.erase(it);
    } else {
      ++it;
    }
  }
}

Result<void> EgressService::spawn_locked(const std::string& sandbox,
                                         std::shared_ptr<GuestStream> stream,
                                         std::function<void()> body) {
  reap();
  auto w = workers_.insert(workers_.end(), Worker{sandbox, std::move(stream), {}, false});
  try {
    w->thread = std::thread([this, w, body = std::move(body)]() mutable {
      body();
      body = nullptr;  // its captures (the stream, the link) go before we report done
      std::lock_guard l(mu_);
      w->done = true;
      changed_.notify_all();
    });
  } catch (const std::system_error& e) {
    workers_.erase(w);
    return err(503, std::string("cannot start an egress thread: ") + e.what());
  }
  return ok();
}

Result<void> EgressService::on_egress(const std::string& sandbox, uint64_t generation,
                                      std::shared_ptr<GuestChannel> ch, proto::EgressOpen open) {
  net::ConnectionInfo info;
  info.sandbox = sandbox;
  if (open.mode == "transparent") {
    info.kind = net::ConnectionKind::kTransparent;
    info.original_ip = net::parse_ip(open.ip);
    info.original_port = open.port;
    if (!info.original_ip) return err(400, "bad original address '" + open.ip + "'");
  } else {
    info.kind = net::ConnectionKind::kForward;
  }
  std::lock_guard l(mu_);
  auto it = attached_.find(sandbox);
  if (stopping_ || it == attached_.end() || it->second.generation != generation)
    return err(503, "sandbox " + sandbox + " is not attached");
  size_t busy = 0;
  for (auto& w : workers_)
    if (!w.done && w.stream) ++busy;
  if (busy >= limits_.max_connections)
    return err(503, "too many egress connections (at most " +
                        std::to_string(limits_.max_connections) + ")");
  auto stream = std::make_shared<GuestStream>(std::move(ch));
  net::EgressProxy* proxy = it->second.deny_network ? &deny_proxy_ : &proxy_;
  return spawn_locked(sandbox, stream, [proxy, stream, info] { (void)proxy->handle(*stream, info); });
}

void EgressService::on_dns(const std::string& sandbox, uint64_t generation, proto::Datagram d) {
  std::lock_guard l(mu_);
  auto it = attached_.find(sandbox);
  if (stopping_ || it == attached_.end() || it->second.generation != generation) return;
  Attached& a = it->second;
  // Resolution blocks for seconds: never on the link's reader, and never
  // unbounded. A stub retries a dropped query.
  if (a.dns_in_flight >= limits_.max_dns_in_flight) return;
  ++a.dns_in_flight;
  net::DnsResponder* dns = a.deny_network ? &deny_dns_ : &dns_;
  std::weak_ptr<AgentLink> link = a.link;
  auto r = spawn_locked(sandbox, nullptr, [this, dns, link, sandbox, generation, d = std::move(d)] {
    std::string reply = dns->answer(sandbox, d.body);
    if (!reply.empty())
      if (auto lk = link.lock()) (void)lk->send_datagram(d.tag, reply);
    std::lock_guard g(mu_);
    auto it = attached_.find(sandbox);
    if (it != attached_.end() && it->second.generation == generation) --it->second.dns_in_flight;
  });
  if (!r) --a.dns_in_flight;
}

}  // namespace sbx::daemon
