#include "agent/egress.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "base/files.h"
#include "base/strings.h"

namespace sbx::agent {

namespace {

constexpr const char* kNoProxy = "localhost,127.0.0.1,::1";
constexpr const char* kGitBegin = "# BEGIN sbx egress proxy (written by sbx-agent at boot)";
constexpr const char* kGitEnd = "# END sbx egress proxy";

/// "a.b.c.d:port" -> sockaddr_in. IPv4 only: the guest has no IPv6 route.
Result<sockaddr_in> parse_ipv4_endpoint(const std::string& spec) {
  size_t colon = spec.rfind(':');
  if (colon == std::string::npos) return err("'" + spec + "': expected IPv4:PORT");
  auto port = parse_uint(spec.substr(colon + 1));
  if (!port || *port > 65535) return err("'" + spec + "': bad port");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(*port));
  if (inet_pton(AF_INET, spec.substr(0, colon).c_str(), &a.sin_addr) != 1)
    return err("'" + spec + "': not an IPv4 address");
  return a;
}

std::string endpoint_of(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) < 0) return "";
  char ip[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &a.sin_addr, ip, sizeof ip);
  return std::string(ip) + ":" + std::to_string(ntohs(a.sin_port));
}

/// Binds one listener; logs and returns an invalid Fd on failure.
Fd bind_one(const Console& console, const char* what, const std::string& spec, int type,
            std::string& bound) {
  if (spec.empty()) return Fd();
  auto fail = [&](const std::string& msg) {
    console.log(std::string("egress: ") + what + " listener disabled: " + msg);
    return Fd();
  };
  auto addr = parse_ipv4_endpoint(spec);
  if (!addr) return fail(addr.error().message);
  Fd s(socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!s.valid()) return fail(std::string("socket: ") + strerror(errno));
  int one = 1;
  // A restarted test agent must not trip over TIME_WAIT sockets.
  (void)setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(s.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) < 0)
    return fail("bind " + spec + ": " + strerror(errno));
  if (type == SOCK_STREAM && listen(s.get(), 128) < 0)
    return fail("listen " + spec + ": " + strerror(errno));
  bound = endpoint_of(s.get());
  return s;
}

void write_logged(const Console& console, const std::string& path, const std::string& text) {
  if (auto r = write_file_atomic(path, text, 0644); !r)
    console.log("egress: " + r.error().message);
}

}  // namespace

EgressConfig EgressConfig::pid1_defaults() {
  EgressConfig c;
  c.proxy = "127.0.0.1:3128";
  c.transparent = "0.0.0.0:3129";
  c.dns = "0.0.0.0:53";
  return c;
}

std::string EgressSockets::proxy_url() const {
  return proxy.valid() ? "http://" + proxy_addr : "";
}

EgressSockets open_egress(const EgressConfig& cfg, const Console& console) {
  EgressSockets s;
  s.proxy = bind_one(console, "forward proxy", cfg.proxy, SOCK_STREAM, s.proxy_addr);
  s.transparent =
      bind_one(console, "transparent", cfg.transparent, SOCK_STREAM, s.transparent_addr);
  s.dns = bind_one(console, "dns", cfg.dns, SOCK_DGRAM, s.dns_addr);
  s.redirect = cfg.redirect && s.transparent.valid();
  std::string msg = "egress:";
  if (s.proxy.valid()) msg += " proxy " + s.proxy_addr;
  if (s.transparent.valid())
    msg += std::string(" transparent ") + s.transparent_addr +
           (s.redirect ? "" : " (no redirect rules)");
  if (s.dns.valid()) msg += " dns " + s.dns_addr;
  if (s.proxy.valid() || s.transparent.valid() || s.dns.valid()) console.log(msg);
  return s;
}

std::vector<std::string> proxy_env(const std::string& url) {
  if (url.empty()) return {};
  std::vector<std::string> env;
  for (const char* k : {"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"})
    env.push_back(std::string(k) + "=" + url);
  env.push_back(std::string("NO_PROXY=") + kNoProxy);
  env.push_back(std::string("no_proxy=") + kNoProxy);
  return env;
}

std::string gitconfig_with_proxy(const std::string& existing, const std::string& url) {
  // Keep everything outside our markers; an unterminated block (crash while
  // writing cannot happen with atomic writes, but a user may have edited it)
  // runs to the end of the file.
  std::string kept;
  bool inside = false;
  for (auto& line : split(existing, '\n')) {
    std::string t = trim(line);
    if (t == kGitBegin) {
      inside = true;
      continue;
    }
    if (inside) {
      if (t == kGitEnd) inside = false;
      continue;
    }
    kept += line + "\n";
  }
  while (ends_with(kept, "\n\n")) kept.pop_back();
  if (kept == "\n") kept.clear();
  return kept + kGitBegin + "\n[http]\n\tproxy = " + url + "\n" + kGitEnd + "\n";
}

void write_proxy_files(const Console& console, const std::string& url, const std::string& root) {
  if (url.empty()) return;
  (void)make_dirs(root + "/etc/apt/apt.conf.d");
  (void)make_dirs(root + "/etc/profile.d");
  write_logged(console, root + "/etc/apt/apt.conf.d/90sbx-proxy",
               "// Written by sbx-agent at boot: every connection leaves through sandboxd.\n"
               "Acquire::http::Proxy \"" + url + "\";\n"
               "Acquire::https::Proxy \"" + url + "\";\n");
  write_logged(console, root + "/etc/pip.conf",
               "# Written by sbx-agent at boot.\n[global]\nproxy = " + url + "\n");
  auto git = read_file(root + "/etc/gitconfig");
  write_logged(console, root + "/etc/gitconfig", gitconfig_with_proxy(git ? *git : "", url));
  write_logged(console, root + "/etc/npmrc",
               "# Written by sbx-agent at boot.\nproxy=" + url + "\nhttps-proxy=" + url +
                   "\nnoproxy=" + kNoProxy + "\n");
  std::string sh = "# Written by sbx-agent at boot: the sandbox's egress proxy.\n";
  for (auto& e : proxy_env(url)) sh += "export " + e + "\n";
  write_logged(console, root + "/etc/profile.d/sbx-proxy.sh", sh);
}

void write_resolv_conf(const Console& console, const std::string& root) {
  // The stub relays every query to sandboxd, which applies the policy.
  write_logged(console, root + "/etc/resolv.conf",
               "# Written by sbx-agent at boot: the DNS stub relays to sandboxd.\n"
               "nameserver 127.0.0.1\n");
}

}  // namespace sbx::agent
