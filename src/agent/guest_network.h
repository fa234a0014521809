// PID 1's egress plumbing in the guest's network stack: a dummy interface
// carrying the default route (so connect() to a public address gets as far
// as netfilter instead of failing with ENETUNREACH), and the iptables rules
// that REDIRECT outgoing TCP (and DNS) to the agent's listeners and REJECT
// everything else that would leave. The VM has no NIC: nothing routed to
// the dummy can ever leave, the rules only make it fail fast.
#pragma once

#include <cstdint>
#include <string>

#include "agent/console.h"
#include "base/result.h"

namespace sbx::agent {

/// The dummy interface and its address. 10.255.255.1 is private, outside
/// Docker's default pools (172.17.0.0/16 ... and 192.168.0.0/16 slices) and
/// excluded from interception like the rest of 10.0.0.0/8.
inline constexpr const char* kEgressIfName = "sbx0";
inline constexpr const char* kEgressIfAddr = "10.255.255.1";

/// The iptables-restore input: nat chain SBX-EGRESS (jumped to from OUTPUT
/// and PREROUTING) redirecting TCP to `transparent_port` and UDP 53 to
/// `dns_port` for destinations that are not loopback, local or private;
/// filter chain SBX-REJECT for whatever leaves through sbx0 (from OUTPUT,
/// FORWARD and DOCKER-USER, which dockerd keeps at the top of FORWARD).
std::string egress_rules(uint16_t transparent_port, uint16_t dns_port);

/// Writes `value` into a /proc/sys file.
Result<void> write_sysctl(const std::string& path, const std::string& value);

/// Creates sbx0 (netlink RTM_NEWLINK, kind dummy; an existing one is kept),
/// gives it 10.255.255.1/32 and brings it up.
Result<void> create_egress_interface();
/// `ip route add default dev sbx0`.
Result<void> add_egress_default_route();
/// Runs `iptables-restore` with `rules` on stdin (10 s limit). The error
/// quotes the tool's output.
Result<void> run_iptables_restore(const std::string& rules);

/// The whole boot step: interface, rules, then the route only if the rules
/// are in place (without interception the guest simply has no route).
/// Returns whether TCP is being redirected. Everything is logged.
bool setup_egress_network(const Console& console, uint16_t transparent_port,
                          uint16_t dns_port);

}  // namespace sbx::agent
