// One published port: a listener on the host that relays each accepted
// connection (net::Relay) through a tcp channel of the agent link to a port
// inside the guest. Credit flows end to end, so a slow reader on either side
// slows its own connection only.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "base/fd.h"
#include "base/log.h"
#include "base/result.h"
#include "daemon/agent_link.h"
#include "net/relay.h"
#include "proto/api.h"

namespace sbx::daemon {

/// First port tried when the user leaves the host port to us (as the seed's
/// 49152, the start of the IANA dynamic range).
inline constexpr uint16_t kFirstEphemeralPort = 49152;

class PortPublisher {
 public:
  /// Binds the host side. host_port 0 takes the first free port from
  /// kFirstEphemeralPort. Errors carry HTTP-style codes: 409 port in use,
  /// 400 privileged port or an address that is not on this host.
  static Result<std::unique_ptr<PortPublisher>> bind(const proto::PortMapping& m, Logger& log);
  ~PortPublisher();
  PortPublisher(const PortPublisher&) = delete;
  PortPublisher& operator=(const PortPublisher&) = delete;

  /// Starts accepting; each connection goes to `link`.
  void serve(std::shared_ptr<AgentLink> link);
  /// The mapping as bound (with the chosen host port).
  const proto::PortMapping& mapping() const { return mapping_; }

 private:
  PortPublisher(Fd fd, proto::PortMapping m, Logger& log)
      : listener_(std::move(fd)), mapping_(std::move(m)), log_(log) {}
  void accept_loop();
  /// Opens the guest end and relays until the connection is over.
  void serve_connection(Fd client);

  Fd listener_;
  proto::PortMapping mapping_;
  Logger& log_;
  std::shared_ptr<AgentLink> link_;
  std::thread acceptor_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable idle_;
  std::set<net::Relay*> relays_;  // running relays, cancelled on unpublish
  int active_ = 0;                // connection threads still running
};

}  // namespace sbx::daemon
