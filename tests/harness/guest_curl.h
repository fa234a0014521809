// Checked, self-timed HTTP GETs with curl, on the host or inside a sandbox
// (through `sbx exec`), for the benchmarks. curl times itself, so sbx exec's
// own round trip is not in the numbers; every transfer is checked (curl's
// exit status, HTTP 200, exact body size), so a failed request is an error,
// never a short, fast "result".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"

namespace sbx::testing {

/// Where curl runs and with which options.
struct CurlSite {
  /// Empty: curl runs on the host. Otherwise the sandbox it runs in.
  std::string sandbox;
  /// Options put before the URLs, one argv word each (e.g. {"--noproxy", ""}).
  std::vector<std::string> options;
  /// "host" or "guest", for messages.
  std::string where() const { return sandbox.empty() ? "host" : "guest"; }
};

/// One GET and the body size it must return.
struct CurlGet {
  std::string url;
  uint64_t bytes = 0;
};

/// Runs one curl process that GETs each of `gets` in order, bodies to
/// /dev/null, and checks every transfer: curl exits 0, one report line per
/// GET, each with HTTP status 200 and exactly the expected body size. Returns
/// curl's time_total of each GET in seconds, in order; any failure is an
/// error naming the GET.
Result<std::vector<double>> checked_curl(const CurlSite& site, const std::vector<CurlGet>& gets);

/// Checks curl's report for `gets` (lines of "STATUS BYTES SECONDS"), as
/// checked_curl does once curl has exited 0. Pure.
Result<std::vector<double>> parse_curl_report(const std::string& report,
                                              const std::vector<CurlGet>& gets);

}  // namespace sbx::testing
