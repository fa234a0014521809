// The guest side of network egress: the agent's listening sockets (forward
// proxy, transparent redirect target, DNS stub) and the proxy settings the
// guest's programs are given. Every connection they accept becomes a
// guest-opened channel to sandboxd; nothing leaves the VM any other way.
// See docs/design.md ("Egress").
#pragma once

#include <string>
#include <vector>

#include "agent/console.h"
#include "base/fd.h"

namespace sbx::agent {

/// Where the egress listeners bind: "IPv4:PORT", empty = disabled. Port 0
/// binds an ephemeral port (tests); HELLO_ACK reports the bound address.
struct EgressConfig {
  std::string proxy;        ///< TCP forward proxy (HTTP_PROXY target)
  std::string transparent;  ///< TCP target of the netfilter REDIRECT rules
  std::string dns;          ///< UDP DNS stub
  /// The REDIRECT rules are in place, so the transparent listener really
  /// receives redirected connections (reported as "transparent").
  bool redirect = false;

  /// PID 1: 127.0.0.1:3128, 0.0.0.0:3129, 0.0.0.0:53. The transparent and
  /// DNS listeners bind every address: REDIRECT from PREROUTING (the private
  /// dockerd's containers) rewrites the destination to docker0's address.
  static EgressConfig pid1_defaults();
};

/// The bound listeners (non-blocking, close-on-exec). An invalid Fd means
/// that listener is disabled or failed to bind (logged).
struct EgressSockets {
  Fd proxy, transparent, dns;
  /// Bound addresses ("127.0.0.1:3128"); empty when the Fd is invalid.
  std::string proxy_addr, transparent_addr, dns_addr;
  bool redirect = false;

  /// "http://127.0.0.1:3128", or empty when there is no forward listener.
  std::string proxy_url() const;
};

/// Binds what `cfg` asks for. Failures are logged and leave that listener
/// disabled; they never stop the agent.
EgressSockets open_egress(const EgressConfig& cfg, const Console& console);

/// HTTP_PROXY, HTTPS_PROXY, http_proxy, https_proxy = `url`, and NO_PROXY,
/// no_proxy = localhost,127.0.0.1,::1, as KEY=VALUE entries.
std::vector<std::string> proxy_env(const std::string& url);

/// `existing` /etc/gitconfig with the agent's marked block (http.proxy) put
/// at the end, replacing an earlier copy of the block; the rest is kept.
std::string gitconfig_with_proxy(const std::string& existing, const std::string& url);

/// Writes the proxy settings for apt, pip, git, npm and login shells under
/// `root` ("" = the real root): /etc/apt/apt.conf.d/90sbx-proxy,
/// /etc/pip.conf, /etc/gitconfig (marked block), /etc/npmrc,
/// /etc/profile.d/sbx-proxy.sh. Failures are logged.
void write_proxy_files(const Console& console, const std::string& url,
                       const std::string& root = "");

/// Points /etc/resolv.conf (under `root`) at the DNS stub on 127.0.0.1.
void write_resolv_conf(const Console& console, const std::string& root = "");

}  // namespace sbx::agent
