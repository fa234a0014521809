// TEST ONLY: send connections for "host:port" to a loopback address
// instead, so a black-box test can put a fake HTTPS server under a real
// host name. sandboxd reads it only from SBX_TEST_UPSTREAM_OVERRIDE and
// logs a warning at start; the policy decision still uses the host name.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "base/result.h"
#include "net/address.h"

namespace sbx::net {

/// The environment variable sandboxd reads the overrides from.
inline constexpr const char* kUpstreamOverrideEnv = "SBX_TEST_UPSTREAM_OVERRIDE";

/// Where one overridden destination really goes.
struct UpstreamTarget {
  IpAddress ip;
  uint16_t port = 0;
};

/// "host:port" (normalised host) -> target.
using UpstreamOverrides = std::map<std::string, UpstreamTarget>;

/// Parses "host:port=ip:port[,host:port=ip:port...]". Only loopback targets
/// are accepted: the override exists to reach a test server on this host.
Result<UpstreamOverrides> parse_upstream_overrides(const std::string& text);

}  // namespace sbx::net
