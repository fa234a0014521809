#include "daemon/host_ca.h"

#include <cstdlib>
#include <set>

#include "base/child_process.h"
#include "base/files.h"
#include "base/strings.h"

namespace sbx::daemon {

namespace {
constexpr size_t kMaxBundleBytes = 8u << 20;
constexpr char kBegin[] = "-----BEGIN CERTIFICATE-----";
constexpr char kEnd[] = "-----END CERTIFICATE-----";

// npm prints "null" or "undefined" for an unset key, git nothing.
std::optional<std::string> configured_path(std::optional<std::string> out) {
  if (!out) return std::nullopt;
  std::string v = trim(*out);
  if (v.empty() || v == "null" || v == "undefined") return std::nullopt;
  return v;
}
}  // namespace

HostCaSources HostCaSources::from_host() {
  HostCaSources s;
  if (const char* h = std::getenv("HOME")) s.home = h;
  s.getenv = [](const std::string& k) -> std::optional<std::string> {
    const char* v = std::getenv(k.c_str());
    if (!v || !*v) return std::nullopt;
    return std::string(v);
  };
  s.query = [](const std::vector<std::string>& argv) -> std::optional<std::string> {
    if (find_program(argv[0]).empty()) return std::nullopt;
    auto r = run_command(argv);
    if (!r || !r->status.exited || r->status.code != 0) return std::nullopt;
    return r->output;
  };
  return s;
}

std::optional<std::string> pip_conf_cert(std::string_view text) {
  for (auto& line : split(text, '\n')) {
    std::string t = trim(line);
    auto eq = t.find('=');
    if (eq == std::string::npos) continue;
    if (trim(t.substr(0, eq)) == "cert") {
      std::string v = trim(t.substr(eq + 1));
      if (!v.empty()) return v;
    }
  }
  return std::nullopt;
}

std::vector<std::string> host_ca_files(const HostCaSources& src) {
  std::vector<std::string> candidates = {src.system_bundle};
  if (src.getenv) {
    for (const char* var : {"NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE", "PIP_CERT",
                            "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "GIT_SSL_CAINFO"})
      if (auto v = src.getenv(var)) candidates.push_back(*v);
  }
  if (src.query) {
    if (auto v = configured_path(src.query({"npm", "config", "get", "cafile"})))
      candidates.push_back(*v);
    if (auto v = configured_path(src.query({"git", "config", "--get", "http.sslCAInfo"})))
      candidates.push_back(*v);
  }
  std::vector<std::string> pip_confs = {src.system_pip_conf};
  if (!src.home.empty()) {
    pip_confs.push_back(src.home + "/.config/pip/pip.conf");
    pip_confs.push_back(src.home + "/.pip/pip.conf");
  }
  for (auto& conf : pip_confs)
    if (auto text = read_file(conf))
      if (auto c = pip_conf_cert(*text)) candidates.push_back(*c);
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (auto& c : candidates) {
    if (c.empty() || c[0] != '/' || !seen.insert(c).second) continue;
    if (path_exists(c) && !is_directory(c)) out.push_back(c);
  }
  return out;
}

std::vector<std::string> split_pem_certificates(std::string_view pem, size_t max_certs) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (out.size() < max_certs) {
    size_t b = pem.find(kBegin, pos);
    if (b == std::string_view::npos) break;
    size_t e = pem.find(kEnd, b);
    if (e == std::string_view::npos) break;
    e += sizeof(kEnd) - 1;
    out.emplace_back(pem.substr(b, e - b));
    out.back() += "\n";
    pos = e;
  }
  return out;
}

std::string host_ca_bundle(const std::vector<std::string>& files) {
  std::string out;
  std::set<std::string> seen;
  size_t read = 0;
  for (auto& f : files) {
    auto text = read_file(f);
    if (!text || read + text->size() > kMaxBundleBytes) continue;
    read += text->size();
    for (auto& cert : split_pem_certificates(*text)) {
      // Line endings aside, the same certificate is the same text.
      std::string key;
      for (char c : cert)
        if (c != '\r' && c != '\n' && c != ' ') key += c;
      if (seen.insert(key).second) out += cert;
    }
  }
  return out;
}

}  // namespace sbx::daemon
