#include "net/resolver.h"

#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <thread>

#include "base/base64.h"
#include "base/strings.h"
#include "net/http_parser.h"

extern char** environ;

namespace sbx::net {

namespace {

Result<std::vector<IpAddress>> getaddrinfo_now(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0) return err("resolve " + host + ": " + gai_strerror(rc));
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owned(res, &freeaddrinfo);
  std::vector<IpAddress> out;
  for (auto* p = res; p; p = p->ai_next) {
    IpAddress a;
    if (p->ai_family == AF_INET) {
      std::memcpy(a.bytes.data(), &reinterpret_cast<sockaddr_in*>(p->ai_addr)->sin_addr, 4);
    } else if (p->ai_family == AF_INET6) {
      a.v6 = true;
      std::memcpy(a.bytes.data(), &reinterpret_cast<sockaddr_in6*>(p->ai_addr)->sin6_addr, 16);
    } else {
      continue;
    }
    if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
  }
  if (out.empty()) return err("resolve " + host + ": no addresses");
  return out;
}

// Reads a proxy's response head (bounded) without consuming tunnel bytes:
// one byte at a time, which is fine for a ~100-byte head read once.
Result<std::string> read_response_head(int fd, std::chrono::milliseconds timeout) {
  std::string head;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (head.size() < 8192) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return err("timed out waiting for the proxy's reply");
    pollfd p{fd, POLLIN, 0};
    int rc = poll(&p, 1, static_cast<int>(left.count()));
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) return err("timed out waiting for the proxy's reply");
    char c;
    ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return err("proxy closed the connection");
    head.push_back(c);
    if (ends_with(head, "\r\n\r\n")) return head;
  }
  return err("proxy reply too long");
}

}  // namespace

Result<std::vector<IpAddress>> SystemResolver::resolve(const std::string& host) {
  if (auto lit = parse_ip(host)) return std::vector<IpAddress>{*lit};
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    Result<std::vector<IpAddress>> result = err("pending");
  };
  auto st = std::make_shared<State>();
  std::thread([st, host] {
    auto r = getaddrinfo_now(host);
    std::lock_guard l(st->mu);
    st->result = std::move(r);
    st->done = true;
    st->cv.notify_all();
  }).detach();
  std::unique_lock l(st->mu);
  if (!st->cv.wait_for(l, timeout_, [&] { return st->done; }))
    return err("resolve " + host + ": timed out after " + std::to_string(timeout_.count()) + " ms");
  return st->result;
}

void StaticResolver::add(const std::string& host, std::vector<IpAddress> addrs) {
  std::lock_guard l(mu_);
  table_[host] = std::move(addrs);
}

Result<std::vector<IpAddress>> StaticResolver::resolve(const std::string& host) {
  if (auto lit = parse_ip(host)) return std::vector<IpAddress>{*lit};
  std::lock_guard l(mu_);
  auto it = table_.find(host);
  if (it == table_.end() || it->second.empty()) return err("resolve " + host + ": not found");
  return it->second;
}

Result<Fd> connect_tcp(const IpAddress& ip, uint16_t port, std::chrono::milliseconds timeout) {
  sockaddr_storage ss{};
  socklen_t len;
  if (ip.v6) {
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(port);
    std::memcpy(&s6->sin6_addr, ip.bytes.data(), 16);
    len = sizeof(sockaddr_in6);
  } else {
    auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
    s4->sin_family = AF_INET;
    s4->sin_port = htons(port);
    std::memcpy(&s4->sin_addr, ip.bytes.data(), 4);
    len = sizeof(sockaddr_in);
  }
  std::string what = "connect " + (ip.v6 ? "[" + ip.to_string() + "]" : ip.to_string()) + ":" +
                     std::to_string(port);
  Fd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return errno_error(what);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    if (errno != EINPROGRESS) return errno_error(what);
    pollfd p{fd.get(), POLLOUT, 0};
    int rc;
    do rc = poll(&p, 1, static_cast<int>(timeout.count()));
    while (rc < 0 && errno == EINTR);
    if (rc == 0) return err(what + ": timed out");
    if (rc < 0) return errno_error(what);
    int so = 0;
    socklen_t sl = sizeof so;
    getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &so, &sl);
    if (so != 0) return errno_error(what, so);
  }
  if (auto r = set_nonblocking(fd.get(), false); !r) return r.error();
  return fd;
}

Result<ProxyUrl> parse_proxy_url(std::string_view url) {
  std::string trimmed = trim(url);
  std::string_view rest = trimmed;
  if (rest.empty()) return err("empty proxy URL");
  uint16_t default_port = 0;
  if (auto p = rest.find("://"); p != std::string_view::npos) {
    std::string scheme = to_lower(rest.substr(0, p));
    if (scheme != "http") return err("unsupported proxy scheme '" + scheme + "'");
    default_port = 80;
    rest = rest.substr(p + 3);
  }
  if (auto slash = rest.find('/'); slash != std::string_view::npos) rest = rest.substr(0, slash);
  ProxyUrl u;
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    u.basic_auth = std::string(rest.substr(0, at));
    rest = rest.substr(at + 1);
  }
  auto hp = parse_authority(rest, default_port);
  if (!hp) return hp.error().wrap("proxy URL");
  u.host = hp->host;
  u.port = hp->port;
  return u;
}

ProxySettings ProxySettings::from_env(const std::map<std::string, std::string>& env) {
  auto get = [&](const char* lower, const char* upper) -> std::string {
    if (auto it = env.find(lower); it != env.end() && !it->second.empty()) return it->second;
    if (auto it = env.find(upper); it != env.end()) return it->second;
    return "";
  };
  ProxySettings s;
  if (auto v = get("http_proxy", "HTTP_PROXY"); !v.empty())
    if (auto u = parse_proxy_url(v)) s.http_proxy = *u;
  if (auto v = get("https_proxy", "HTTPS_PROXY"); !v.empty())
    if (auto u = parse_proxy_url(v)) s.https_proxy = *u;
  for (const auto& item : split(get("no_proxy", "NO_PROXY"), ',')) {
    std::string e = to_lower(trim(item));
    if (!e.empty()) s.no_proxy.push_back(e);
  }
  return s;
}

ProxySettings ProxySettings::from_process_env() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string_view::npos) env[std::string(kv.substr(0, eq))] = kv.substr(eq + 1);
  }
  return from_env(env);
}

std::optional<ProxyUrl> ProxySettings::proxy_for(std::string_view host_in, uint16_t port) const {
  const auto& proxy = port == 80 ? http_proxy : https_proxy;
  if (!proxy) return std::nullopt;
  std::string host = to_lower(host_in);
  if (!host.empty() && host.back() == '.') host.pop_back();
  auto ip = parse_ip(host);
  for (std::string e : no_proxy) {
    if (e == "*") return std::nullopt;
    // Strip a ":port" suffix (but not from a bare IPv6 entry).
    if (e.front() == '[') {
      e = e.substr(1, e.find(']') - 1);
    } else if (std::count(e.begin(), e.end(), ':') == 1) {
      e = e.substr(0, e.find(':'));
    }
    if (ip) {
      if (auto c = parse_cidr(e); c && c->contains(*ip)) return std::nullopt;
      continue;
    }
    if (!e.empty() && e.front() == '.') e.erase(0, 1);
    if (!e.empty() && e.front() == '*' && e.size() > 1 && e[1] == '.') e.erase(0, 2);
    if (host == e ||
        (host.size() > e.size() && ends_with(host, e) && host[host.size() - e.size() - 1] == '.'))
      return std::nullopt;
  }
  return proxy;
}

Result<Fd> UpstreamConnector::connect_direct(const IpAddress& ip, uint16_t port) const {
  return connect_tcp(ip, port, timeout_);
}

Result<Fd> UpstreamConnector::connect_via_proxy(const std::string& host, uint16_t port) const {
  auto proxy = settings_.proxy_for(host, port);
  if (!proxy) return err("no proxy configured for " + host);
  std::string what = "via proxy " + proxy->host + ":" + std::to_string(proxy->port);
  // The proxy is the host's own configuration, so its address is trusted
  // even when it is on loopback or the LAN (the usual case).
  auto addrs = resolver_.resolve(proxy->host);
  if (!addrs) return addrs.error().wrap(what);
  Result<Fd> fd = err("no address");
  for (const auto& a : *addrs) {
    fd = connect_tcp(a, proxy->port, timeout_);
    if (fd) break;
  }
  if (!fd) return fd.error().wrap(what);
  std::string authority =
      (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
  std::string req = "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n";
  if (!proxy->basic_auth.empty())
    req += "Proxy-Authorization: Basic " + base64_encode(proxy->basic_auth) + "\r\n";
  req += "\r\n";
  if (auto w = write_all(fd->get(), req); !w) return w.error().wrap(what);
  auto head = read_response_head(fd->get(), timeout_);
  if (!head) return head.error().wrap(what);
  // "HTTP/1.x 2xx ..."
  if (head->size() < 12 || !starts_with(*head, "HTTP/1.") || (*head)[9] != '2')
    return err(what + ": proxy refused CONNECT " + authority + ": " +
               head->substr(0, head->find('\r')));
  return fd;
}

}  // namespace sbx::net
