// sandboxd's own environment, cut to what it and its children need. The
// user's shell hands the daemon everything it has, API keys included; the
// credential resolver reads the keys it honours first, then the rest goes,
// so QEMU, virtiofsd, apt and mmdebstrap never inherit a key and
// /proc/PID/environ of the daemon shows none.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sbx::daemon {

/// Whether sandboxd keeps variable `name`: the basics (PATH, HOME, locale,
/// TMPDIR), SBX_*, XDG_*, the host's proxy and CA-file variables.
bool keeps_variable(std::string_view name);

/// Removes every variable keeps_variable() refuses from this process's
/// environment, wiping their values in place first so the original block
/// (/proc/self/environ) no longer holds them. Call before any thread
/// starts: the environment is not thread-safe. Returns the names removed.
std::vector<std::string> trim_environment();

}  // namespace sbx::daemon
