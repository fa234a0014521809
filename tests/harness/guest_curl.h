// Timing HTTP from inside a guest with curl, for the benchmarks: curl times
// itself, so sbx exec's own round trip is not in the numbers.
#pragma once

#include <string>
#include <vector>

namespace sbx::testing {

/// What curl in a guest measured.
struct CurlTimings {
  double download_s = 0;          ///< one GET of `big_url`; 0 on failure
  std::vector<double> small_ms;   ///< one entry per small GET that answered
  std::string error;              ///< why the download failed, if it did
};

/// Runs curl in `sandbox`: one GET of `big_url` to /dev/null, then
/// `requests` GETs of `small_url` in one curl process. `curl_opts` is put
/// before the URLs as shell words (e.g. "--noproxy ''").
CurlTimings guest_curl(const std::string& sandbox, const std::string& big_url,
                       const std::string& small_url, int requests,
                       const std::string& curl_opts = "");

/// The p-th quantile (0..1) of `v`, nearest rank; 0 for an empty `v`.
double percentile(std::vector<double> v, double p);

/// Throughput of one download and latency quantiles of small requests.
struct HttpNumbers {
  double mbps = 0, p50 = 0, p95 = 0;
};
/// `t` as numbers for a download of `mib` MiB; all zero when it failed.
HttpNumbers http_numbers(const CurlTimings& t, double mib);

}  // namespace sbx::testing
