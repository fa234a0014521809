#include "daemon/port_table.h"

namespace sbx::daemon {

namespace {
// How many host ports reserved by stopped sandboxes a search steps over.
constexpr int kMaxReservedSkips = 64;
}  // namespace

Result<std::vector<proto::PortMapping>> PortTable::of(const std::string& name) {
  return store_.ports(name);
}

Result<std::unique_ptr<PortPublisher>> PortTable::reserve(const std::string& name,
                                                          proto::PortMapping m) {
  if (m.host_ip.empty()) m.host_ip = "127.0.0.1";
  if (m.host_port != 0) {
    auto owner = store_.port_owner(m.host_ip, m.host_port);
    if (!owner) return owner.error();
    if (owner->has_value())
      return err(kConflict, "host port " + m.host_ip + ":" + std::to_string(m.host_port) +
                                " is already published by sandbox '" + **owner + "'");
  }
  // Binding proves the port is free (and picks one for host_port 0). A port
  // that is free on the host may still be reserved by a stopped sandbox:
  // keep holding it while the search moves on, so the next bind picks
  // another one.
  std::vector<std::unique_ptr<PortPublisher>> skipped;
  for (int attempt = 0; attempt < kMaxReservedSkips; ++attempt) {
    auto pub = PortPublisher::bind(m, log_);
    if (!pub) return pub.error();
    proto::PortMapping bound = (*pub)->mapping();
    auto owner = store_.port_owner(bound.host_ip, bound.host_port);
    if (!owner) return owner.error();
    if (owner->has_value()) {
      if (m.host_port != 0)
        return err(kConflict, "host port is reserved by sandbox '" + **owner + "'");
      skipped.push_back(std::move(*pub));
      continue;
    }
    if (auto r = store_.add_port(name, bound); !r) return r.error();
    log_.info("sandbox " + name + ": published " + proto::format_port(bound));
    return std::move(*pub);
  }
  return err(kConflict, "no free host port found");
}

bool PortTable::matches(const proto::PortMapping& pattern, const proto::PortMapping& p) {
  return p.host_port == pattern.host_port &&
         (pattern.host_ip.empty() || pattern.host_ip == p.host_ip) &&
         (pattern.sandbox_port == 0 || pattern.sandbox_port == p.sandbox_port);
}

Result<std::vector<proto::PortMapping>> PortTable::release(const std::string& name,
                                                           const proto::PortMapping& pattern) {
  auto all = store_.ports(name);
  if (!all) return all.error();
  std::vector<proto::PortMapping> removed;
  for (auto& p : *all) {
    if (!matches(pattern, p)) continue;
    if (auto r = store_.remove_port(name, p); !r) return r.error();
    removed.push_back(p);
  }
  if (removed.empty())
    return err(kNotFound,
               "sandbox '" + name + "' has no published port matching " +
                   (pattern.host_ip.empty() ? "" : pattern.host_ip + ":") +
                   std::to_string(pattern.host_port) +
                   (pattern.sandbox_port ? ":" + std::to_string(pattern.sandbox_port) : "") +
                   "; see 'sbx ports " + name + "'");
  return removed;
}

}  // namespace sbx::daemon
