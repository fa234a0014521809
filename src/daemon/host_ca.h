// The CAs the host trusts, gathered for the guest: its system bundle and
// every extra CA file the host's tools are configured with (npm's cafile,
// NODE_EXTRA_CA_CERTS, pip's cert, git's http.sslCAInfo, SSL_CERT_FILE...).
// Behind a TLS-inspecting proxy the host trusts the proxy's CA and the guest
// must too, or npm/pip/curl in the guest fail with SELF_SIGNED_CERT_IN_CHAIN.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace sbx::daemon {

/// Where host_ca_files() looks; every source is injectable for tests.
struct HostCaSources {
  std::string system_bundle = "/etc/ssl/certs/ca-certificates.crt";
  std::string home;  ///< the host user's home (pip.conf)
  std::string system_pip_conf = "/etc/pip.conf";
  std::function<std::optional<std::string>(const std::string&)> getenv;
  /// Runs a tool's config query (npm, git); nullopt when it cannot answer.
  std::function<std::optional<std::string>(const std::vector<std::string>&)> query;

  /// sandboxd's own environment, home and tools.
  static HostCaSources from_host();
};

/// The CA files the host's tools name, system bundle first, each once, only
/// those that exist.
std::vector<std::string> host_ca_files(const HostCaSources& src);

/// The PEM certificates in `pem`, each from BEGIN to END line, in order;
/// at most `max_certs` (a bundle is bounded: it goes to every guest).
std::vector<std::string> split_pem_certificates(std::string_view pem, size_t max_certs = 2000);

/// Every distinct certificate of `files`, concatenated (at most 8 MiB read).
std::string host_ca_bundle(const std::vector<std::string>& files);

/// The `cert = PATH` of a pip.conf text, if it sets one.
std::optional<std::string> pip_conf_cert(std::string_view text);

}  // namespace sbx::daemon
