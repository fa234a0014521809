// The published-port table: which host address each sandbox has published,
// across all sandboxes. It checks conflicts, chooses free host ports and
// records the mappings in the store; the listeners themselves are
// PortPublisher's.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/log.h"
#include "base/result.h"
#include "daemon/port_publisher.h"
#include "daemon/store.h"
#include "proto/api.h"

namespace sbx::daemon {

class PortTable {
 public:
  PortTable(Store& store, Logger& log) : store_(store), log_(log) {}

  /// The mappings `name` has published, in publication order.
  Result<std::vector<proto::PortMapping>> of(const std::string& name);
  /// Reserves `m` for sandbox `name` and records it. host_ip "" means
  /// 127.0.0.1; host_port 0 picks the first port that is free on the host
  /// and not reserved by another sandbox. kConflict when the host address
  /// is published already (by any sandbox) or in use on the host. Returns
  /// the bound listener, not yet serving: the caller serves it on a running
  /// sandbox or drops it (the reservation stays in the table).
  Result<std::unique_ptr<PortPublisher>> reserve(const std::string& name, proto::PortMapping m);
  /// Removes the mappings of `name` that match `pattern` (see matches());
  /// kNotFound when none did. Returns the removed mappings.
  Result<std::vector<proto::PortMapping>> release(const std::string& name,
                                                  const proto::PortMapping& pattern);
  /// Whether `p` matches `pattern`: same host port, and the same host IP
  /// and sandbox port unless the pattern leaves them "" / 0.
  static bool matches(const proto::PortMapping& pattern, const proto::PortMapping& p);

 private:
  Store& store_;
  Logger& log_;
};

}  // namespace sbx::daemon
