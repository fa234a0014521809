#include "harness/guest_curl.h"

#include <algorithm>
#include <cstdlib>

#include "base/strings.h"
#include "harness/harness.h"

namespace sbx::testing {

CurlTimings guest_curl(const std::string& sandbox, const std::string& big_url,
                       const std::string& small_url, int requests, const std::string& curl_opts) {
  CurlTimings t;
  std::string curl = "curl -s " + curl_opts + " -w '%{time_total}\\n'";
  auto big = sbx({"exec", sandbox, "--", "sh", "-c", curl + " -o /dev/null " + big_url});
  t.download_s = std::atof(trim(big.out).c_str());
  if (big.code != 0 || t.download_s <= 0) {
    t.download_s = 0;
    t.error = big.all();
    return t;
  }
  // -o applies to one URL only: each gets its own, or the bodies would land
  // in the timing output.
  std::string urls;
  for (int i = 0; i < requests; ++i) urls += " -o /dev/null " + small_url;
  auto r = sbx({"exec", sandbox, "--", "sh", "-c", curl + urls});
  for (auto& l : split(trim(r.out), '\n'))
    if (!l.empty()) t.small_ms.push_back(std::atof(l.c_str()) * 1000);
  return t;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5))];
}

HttpNumbers http_numbers(const CurlTimings& t, double mib) {
  HttpNumbers n;
  if (t.download_s <= 0) return n;
  n.mbps = mib / t.download_s;
  n.p50 = percentile(t.small_ms, 0.5);
  n.p95 = percentile(t.small_ms, 0.95);
  return n;
}

}  // namespace sbx::testing
