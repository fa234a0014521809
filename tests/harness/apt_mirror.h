// The Debian mirror the host's apt uses, for tests that go through it (they
// must never name a mirror of their own).
#pragma once

#include <string>

namespace sbx::testing {

/// Host name of the first bookworm Debian source in the host's apt
/// configuration; empty when there is none.
std::string host_apt_mirror();

/// One IPv4 address the host resolves that mirror to; empty on failure.
std::string host_apt_mirror_ipv4();

}  // namespace sbx::testing
