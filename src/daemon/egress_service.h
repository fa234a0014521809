// sandboxd's egress: every connection and DNS query a sandbox makes arrives
// over its agent link (the VM has no network card) and is decided and
// relayed here, by net::EgressProxy and net::DnsResponder, and recorded in
// the network log. One service per daemon; SandboxManager attaches each
// running sandbox's link to it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/log.h"
#include "base/result.h"
#include "daemon/agent_link.h"
#include "daemon/guest_stream.h"
#include "net/dns.h"
#include "net/egress_proxy.h"
#include "net/network_log.h"
#include "net/policy.h"
#include "net/resolver.h"

namespace sbx::daemon {

/// The Decision rule text for every connection of a --deny-network sandbox.
inline constexpr const char* kDenyNetworkRule = "sandbox created with --deny-network";

/// Bounds on what the guests can make the daemon hold.
struct EgressLimits {
  size_t max_connections = 1024;       ///< relay threads, all sandboxes together
  size_t max_dns_in_flight = 64;       ///< per sandbox; queries beyond are dropped
  size_t log_rows = 100000;            ///< network log cap
};

/// Decides and relays the egress of every running sandbox. Thread-safe.
class EgressService {
 public:
  using PolicyFn = std::function<std::shared_ptr<const net::Policy>()>;

  /// The daemon's service: the network log at `log_path`, the system
  /// resolver, and the host's HTTP(S)_PROXY/NO_PROXY for upstream.
  /// `intercept` carries the credential source, TLS interceptor and (tests
  /// only) upstream overrides for the proxy; its `names` is ignored.
  static Result<std::unique_ptr<EgressService>> open(const std::string& log_path, PolicyFn policy,
                                                     Logger& log, EgressLimits limits = {},
                                                     net::EgressOptions intercept = {});
  /// With every part given (tests: ":memory:" log, StaticResolver, no proxy).
  EgressService(std::unique_ptr<net::NetworkLog> netlog, PolicyFn policy,
                std::unique_ptr<net::Resolver> resolver, net::ProxySettings proxy, Logger& log,
                EgressLimits limits = {}, net::EgressOptions intercept = {});
  /// Detaches every sandbox: aborts their connections and joins every thread.
  ~EgressService();
  EgressService(const EgressService&) = delete;
  EgressService& operator=(const EgressService&) = delete;

  /// Serves `sandbox`'s egress channels and DNS datagrams from `link`
  /// (replacing an earlier link of the same sandbox). With `deny_network`
  /// everything is denied with kDenyNetworkRule, whatever the rules say.
  void attach(const std::string& sandbox, bool deny_network, const std::shared_ptr<AgentLink>& link);
  /// Stops serving `sandbox`: removes the handlers from its link, aborts
  /// its connections and waits for their threads (a connect or lookup in
  /// progress can hold one for its own timeout). No-op if not attached.
  void detach(const std::string& sandbox);

  net::NetworkLog& network_log() { return *log_; }
  /// Relay and DNS threads running now (for tests and status).
  size_t active_workers();

 private:
  struct Worker {
    std::string sandbox;
    std::shared_ptr<GuestStream> stream;  ///< null for DNS queries
    std::thread thread;
    bool done = false;
  };
  struct Attached {
    bool deny_network = false;
    std::weak_ptr<AgentLink> link;
    uint64_t generation = 0;  ///< which attach() the handlers belong to
    size_t dns_in_flight = 0;
  };

  Result<void> on_egress(const std::string& sandbox, uint64_t generation,
                         std::shared_ptr<GuestChannel> ch, proto::EgressOpen open);
  void on_dns(const std::string& sandbox, uint64_t generation, proto::Datagram d);
  /// Joins workers that have finished. Caller holds mu_.
  void reap();
  /// Unhooks `links`, aborts `streams`, waits until every worker `mine`
  /// selects is done, and joins the finished ones. Caller does not hold mu_.
  void wind_down(const std::vector<std::shared_ptr<AgentLink>>& links,
                 const std::vector<std::shared_ptr<GuestStream>>& streams,
                 const std::function<bool(const Worker&)>& mine);
  /// Starts `body` on a tracked thread. Caller holds mu_.
  Result<void> spawn_locked(const std::string& sandbox, std::shared_ptr<GuestStream> stream,
                    std::function<void()> body);

  std::unique_ptr<net::NetworkLog> log_;
  std::unique_ptr<net::Resolver> resolver_;
  net::UpstreamConnector connector_;
  // Two of each: the shared policy, and deny-all for --deny-network.
  std::shared_ptr<const net::Policy> deny_all_;
  /// What each sandbox's DNS lookups answered: names for raw TCP (ssh).
  net::DnsNameCache names_;
  net::EgressProxy proxy_;
  net::EgressProxy deny_proxy_;
  net::DnsResponder dns_;
  net::DnsResponder deny_dns_;
  Logger& logger_;
  EgressLimits limits_;

  std::mutex mu_;  // guards everything below
  std::condition_variable changed_;
  bool stopping_ = false;
  uint64_t next_generation_ = 1;
  std::map<std::string, Attached> attached_;
  std::list<Worker> workers_;
};

}  // namespace sbx::daemon
