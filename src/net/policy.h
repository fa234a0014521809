// The egress policy model and its decision function. Pure: no I/O, so the
// proxy, the DNS stub and `sbx policy check` all decide the same way.
//
// Semantics (documented in docs/design.md, "Egress"):
//  - A rule's resource is a domain ("example.com": exactly that host), a
//    wildcard ("*.example.com": strict subdomains only, NOT example.com
//    itself, as Docker's sbx does), either with an optional ":port", or an
//    IP/CIDR ("10.0.0.0/8", "::1/128", "[::1]:22", "10.0.0.0/8:5432").
//  - An allow rule without a port allows ports 80 and 443 only; any other
//    TCP port needs an explicit host:port rule. A deny rule without a port
//    denies every port.
//  - Any matching deny wins over any allow. Global and sandbox-scoped rules
//    both apply; then the preset's built-in allowlist; then its default.
//  - Non-public addresses (loopback, RFC 1918, link-local, CGNAT, ULA,
//    multicast, unspecified, reserved; also in IPv4-mapped form) are denied
//    unless an IP/CIDR allow rule covers them, even if the name is allowed.
//  - A target given only as an IP literal is matched by IP/CIDR rules only
//    (domain rules never vouch for a bare address); with the allow-all
//    preset public literals are allowed by default.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "net/address.h"

namespace sbx::net {

/// What a rule does.
enum class Action { kAllow, kDeny };
const char* action_name(Action a);
Result<Action> parse_action(std::string_view s);

/// The policy preset: a default action plus, for balanced, an allowlist.
enum class Preset { kAllowAll, kBalanced, kDenyAll };
const char* preset_name(Preset p);
Result<Preset> parse_preset(std::string_view s);

/// A rule's target.
struct Resource {
  enum class Kind { kDomain, kWildcard, kCidr };
  Kind kind = Kind::kDomain;
  /// Normalised host (kDomain) or the suffix after "*." (kWildcard).
  std::string host;
  Cidr cidr;  ///< kCidr only
  std::optional<uint16_t> port;

  bool operator==(const Resource&) const = default;
  /// Canonical text: "example.com", "*.example.com:8443", "10.0.0.0/8",
  /// "[::1]:22". Parsing the text gives back the same resource.
  std::string to_string() const;
};

/// Parses one resource; errors read "invalid rule 'TEXT': why".
Result<Resource> parse_resource(std::string_view text);
/// Parses a comma-separated list ("a.com,*.b.org,host:22,10.0.0.0/8"); blank
/// items are skipped, any invalid item fails the whole list.
Result<std::vector<Resource>> parse_resource_list(std::string_view text);

/// One policy rule. An empty `sandbox` means global scope.
struct Rule {
  int64_t id = 0;  ///< store id; 0 for built-in preset rules
  std::string sandbox;
  Action action = Action::kAllow;
  Resource resource;
  /// Human text naming the rule: "allow *.github.com (global, id 3)".
  std::string describe() const;
};

/// Hosts the balanced preset allows besides its fixed list: the host's own
/// package sources, which the daemon reads (net must not depend on image).
struct PresetInputs {
  std::vector<std::string> apt_hosts;  ///< hosts of /etc/apt sources URIs
  std::string npm_registry;            ///< `npm config get registry` (URL or host)
};

/// A complete policy: the preset, its built-in rules and the user's rules.
struct Policy {
  Preset preset = Preset::kBalanced;
  std::vector<Rule> builtin;  ///< from preset_rules(); never shown as user rules
  std::vector<Rule> rules;    ///< user rules, global and per sandbox
  /// When set, every target is denied and this is the Decision's rule text,
  /// before any rule is looked at (a sandbox created with --deny-network).
  std::string deny_all;
};

/// The fixed allowlist of the balanced preset (AI APIs, package registries,
/// code hosts, container registries) plus `inputs`; empty for the others.
/// Invalid input hosts are skipped (they come from the host's config files).
std::vector<Rule> preset_rules(Preset p, const PresetInputs& inputs);
/// Builds a Policy from a preset, its inputs and the user's rules.
Policy make_policy(Preset p, const PresetInputs& inputs, std::vector<Rule> rules);

/// What to decide about. `host` is the name the guest asked for (may be
/// empty for a transparent connection without SNI/Host); `ip` the resolved
/// or original address when known. Port 0 means "any port" (DNS lookups:
/// a name is resolvable if any allow rule names it, whatever the port).
struct Target {
  std::string host;
  std::optional<IpAddress> ip;
  uint16_t port = 0;
};

/// The verdict and who made it.
struct Decision {
  bool allowed = false;
  int64_t rule_id = 0;  ///< 0 when not a user rule
  /// "allow *.github.com (global, id 3)", "default policy balanced",
  /// "preset balanced: github.com", "address 10.0.0.1 is private".
  std::string rule;
};

/// Decides `target` for `sandbox`. A host that is not a valid name is
/// denied; a host that is an IP literal (including inet_aton forms such as
/// "2130706433") is treated as an address.
Decision decide(const Policy& policy, std::string_view sandbox, const Target& target);

}  // namespace sbx::net
