#include "harness/guest_curl.h"

#include <cstdlib>

#include "base/strings.h"
#include "harness/harness.h"

namespace sbx::testing {

Result<std::vector<double>> parse_curl_report(const std::string& report,
                                              const std::vector<CurlGet>& gets) {
  std::vector<std::string> lines;
  for (auto& l : split(trim(report), '\n'))
    if (!trim(l).empty()) lines.push_back(trim(l));
  if (lines.size() != gets.size())
    return err("curl reported " + std::to_string(lines.size()) + " transfers, expected " +
               std::to_string(gets.size()));
  std::vector<double> seconds;
  for (size_t i = 0; i < gets.size(); ++i) {
    auto f = split(lines[i], ' ');
    if (f.size() != 3) return err("unreadable curl report line '" + lines[i] + "'");
    const std::string& url = gets[i].url;
    if (f[0] != "200") return err("GET " + url + ": HTTP status " + f[0] + ", expected 200");
    auto bytes = parse_uint(f[1]);
    if (!bytes || *bytes != gets[i].bytes)
      return err("GET " + url + ": body of " + f[1] + " bytes, expected " +
                 std::to_string(gets[i].bytes));
    char* end = nullptr;
    double s = std::strtod(f[2].c_str(), &end);
    if (end == f[2].c_str() || *end != '\0' || s < 0)
      return err("GET " + url + ": unreadable time '" + f[2] + "'");
    seconds.push_back(s);
  }
  return seconds;
}

Result<std::vector<double>> checked_curl(const CurlSite& site, const std::vector<CurlGet>& gets) {
  if (gets.empty()) return std::vector<double>{};
  // -f: an HTTP error is a curl error too; -S: say why on stderr; -m: a
  // stuck transfer ends instead of hanging the benchmark.
  std::vector<std::string> argv = {"curl", "-sS", "-f", "-m", "600"};
  argv.insert(argv.end(), site.options.begin(), site.options.end());
  // -w is printed after every transfer; -o applies to one URL only, so each
  // URL gets its own or its body would land among the report lines.
  argv.insert(argv.end(), {"-w", "%{http_code} %{size_download} %{time_total}\\n"});
  for (auto& g : gets) argv.insert(argv.end(), {"-o", "/dev/null", g.url});
  CmdResult r;
  if (site.sandbox.empty()) {
    r = run(argv);
  } else {
    std::vector<std::string> args = {"exec", site.sandbox, "--"};
    args.insert(args.end(), argv.begin(), argv.end());
    r = sbx(args);
  }
  std::string what = "curl in the " + site.where() + " (" + gets.front().url +
                     (gets.size() > 1 ? " and " + std::to_string(gets.size() - 1) + " more" : "") +
                     ")";
  if (r.code != 0) return err(what + " exited " + std::to_string(r.code) + ": " + trim(r.all()));
  auto t = parse_curl_report(r.out, gets);
  if (!t) return t.error().wrap(what);
  return t;
}

}  // namespace sbx::testing
