#include "net/egress_proxy.h"

#include "net/hostname.h"
#include "net/http_parser.h"
#include "net/relay.h"
#include "net/tls_sni.h"

namespace sbx::net {

namespace {

std::string simple_response(int code, const char* reason, const std::string& body) {
  return "HTTP/1.1 " + std::to_string(code) + " " + reason +
         "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

// Reads from the client until `done(buf)` or the limit; false on EOF/error.
template <class Done>
bool read_until(ClientStream& c, std::string& buf, size_t limit, Done done) {
  char tmp[4096];
  while (!done(buf)) {
    if (buf.size() >= limit) return true;  // let the parser report the limit
    auto n = c.read(tmp, std::min(sizeof tmp, limit - buf.size()));
    if (!n || *n == 0) return false;
    buf.append(tmp, *n);
  }
  return true;
}

std::string display_host(const std::string& host) {
  auto n = normalize_host(host);
  return n ? *n : host.substr(0, 255);
}

}  // namespace

const char* kind_name(ConnectionKind k) {
  return k == ConnectionKind::kForward ? "forward" : "transparent";
}

std::string forbidden_response(const std::string& host, uint16_t port, const std::string& rule) {
  std::string target = host;
  bool is_ip = parse_ip(host).has_value();
  if (is_ip && host.find(':') != std::string::npos) target = "[" + host + "]";
  if (port != 80 && port != 443) target += ":" + std::to_string(port);
  std::string body =
      "Blocked by the sbx egress policy.\n"
      "Destination: " +
      target +
      "\n"
      "Decided by: " +
      rule +
      "\n"
      "To allow it: sbx policy allow network " +
      target + "\n";
  return simple_response(403, "Forbidden", body);
}

// What the guest asked for, as far as the first bytes tell.
struct EgressProxy::Request {
  std::string buf;              // bytes read from the client so far
  std::string host;             // name (or literal) to decide on; may be empty
  std::optional<IpAddress> ip;  // transparent destination when no name is known
  uint16_t port = 0;
  std::string method, path;
  std::string upstream_prefix;  // sent upstream before relaying
  bool http = false;            // answer denials with a 403
  bool connect = false;         // reply 200 once the tunnel is up
  std::string malformed;        // non-empty: answer 400 and stop
};

ConnectionSummary EgressProxy::handle(ClientStream& client, const ConnectionInfo& info) {
  Request req;
  if (info.kind == ConnectionKind::kForward) {
    req.http = true;
    Result<std::optional<HttpRequestHead>> head = std::optional<HttpRequestHead>();
    bool got = read_until(client, req.buf, kMaxRequestHead, [&](const std::string& b) {
      head = parse_request_head(b);
      return !head.ok() || head->has_value();
    });
    if (!head.ok()) {
      req.malformed = head.error().message;
    } else if (!got || !head->has_value()) {
      req.malformed = "connection closed before a complete request head";
    } else {
      const HttpRequestHead& h = **head;
      req.method = h.method;
      std::string rest = req.buf.substr(h.head_size);
      if (h.method == "CONNECT") {
        auto hp = parse_authority(h.target);
        if (!hp) {
          req.malformed = "bad CONNECT target: " + hp.error().message;
        } else {
          req.host = hp->host;
          req.port = hp->port;
          req.connect = true;
          req.upstream_prefix = rest;  // e.g. a ClientHello sent eagerly
        }
      } else {
        auto url = parse_absolute_url(h.target);
        if (!url) {
          req.malformed = "not a proxy request: " + url.error().message;
        } else {
          req.host = url->authority.host;
          req.port = url->authority.port;
          req.path = url->path;
          req.upstream_prefix = rewrite_request_head(h, url->path) + rest;
        }
      }
    }
  } else {
    req.ip = info.original_ip;
    req.port = info.original_port;
    req.upstream_prefix.clear();
    if (info.original_port == 443) {
      SniResult sni;
      read_until(client, req.buf, kMaxClientHello + 1024, [&](const std::string& b) {
        sni = extract_sni(b);
        return sni.status != SniStatus::kNeedMore;
      });
      if (sni.status == SniStatus::kFound) req.host = sni.host;
      req.method = "TLS";
    } else if (info.original_port == 80) {
      req.http = true;
      Result<std::optional<HttpRequestHead>> head = std::optional<HttpRequestHead>();
      read_until(client, req.buf, kMaxRequestHead, [&](const std::string& b) {
        head = parse_request_head(b);
        return !head.ok() || head->has_value();
      });
      if (head.ok() && head->has_value()) {
        req.method = (*head)->method;
        req.path = (*head)->target.substr(0, 2048);
        if (auto h = (*head)->header("host"))
          if (auto hp = parse_authority(*h, 80)) req.host = hp->host;
      } else {
        req.http = false;  // not HTTP after all: decide on the address only
      }
    }
    req.upstream_prefix = req.buf;
    if (req.host.empty() && req.ip && opts_.names)
      if (auto name = opts_.names->lookup(info.sandbox, *req.ip)) req.host = *name;
  }
  ConnectionSummary s = serve(client, info, req);
  client.abort();
  return s;
}

ConnectionSummary EgressProxy::serve(ClientStream& client, const ConnectionInfo& info,
                                     Request& req) {
  ConnectionSummary s;
  s.port = req.port;
  LogEntry e;
  e.sandbox = info.sandbox;
  e.kind = kind_name(info.kind);
  e.method = req.method;
  e.path = req.path;
  e.port = req.port;

  if (!req.malformed.empty()) {
    s.error = req.malformed;
    s.rule = "malformed request";
    e.rule = s.rule;
    e.error = s.error;
    e.finished = true;
    e.host = req.host;
    if (log_) s.log_id = log_->record(e);
    (void)client.write(simple_response(400, "Bad Request", "sbx proxy: " + req.malformed + "\n"));
    return s;
  }

  auto policy = policy_();
  Decision d;
  Result<Fd> upstream = err("denied");
  std::string connect_error;
  if (!policy) {
    d = Decision{false, 0, "no policy loaded"};
  } else {
    upstream = open_upstream(*policy, info, req.host, req.host.empty() ? req.ip : std::nullopt,
                             req.port, d, connect_error);
  }
  s.host = req.host.empty() ? (req.ip ? req.ip->to_string() : "") : display_host(req.host);
  s.allowed = d.allowed;
  s.rule = d.rule;
  e.host = s.host;
  e.allowed = d.allowed;
  e.rule = d.rule;
  if (!d.allowed || !upstream) {
    e.finished = true;
    e.error = connect_error;
    s.error = connect_error;
    if (log_) s.log_id = log_->record(e);
    if (!req.http) return s;  // raw TLS/TCP: just close
    if (!d.allowed) {
      (void)client.write(forbidden_response(s.host, req.port, d.rule));
    } else {
      (void)client.write(simple_response(
          502, "Bad Gateway", "sbx proxy: cannot reach " + s.host + ": " + connect_error + "\n"));
    }
    return s;
  }
  // A host with credential rules is served inside TLS, unless the user
  // exempted it (a client that pins certificates); everything else is
  // relayed as opaque bytes.
  bool tls = req.connect || (info.kind == ConnectionKind::kTransparent && req.method == "TLS");
  std::vector<CredentialRule> rules;
  if (tls && opts_.credentials && !req.host.empty() && !parse_ip(s.host)) {
    if (opts_.credentials->bypassed(info.sandbox, s.host))
      e.rule += kBypassNote;
    else if (opts_.interceptor)
      rules = opts_.credentials->rules_for(info.sandbox, s.host);
  }
  if (log_) s.log_id = log_->record(e);
  if (req.connect) {
    if (auto w = client.write("HTTP/1.1 200 Connection Established\r\n\r\n"); !w) {
      s.error = w.error().message;
      if (log_) log_->finish(s.log_id, 0, 0, s.error);
      return s;
    }
  }
  if (!rules.empty()) {
    intercept(client, info, req, std::move(*upstream), std::move(rules), s);
    return s;
  }
  FdStream up(std::move(*upstream));
  if (!req.upstream_prefix.empty()) {
    if (auto w = up.write(req.upstream_prefix); !w) {
      s.error = w.error().message;
      if (log_) log_->finish(s.log_id, 0, 0, s.error);
      return s;
    }
    s.bytes_up += req.upstream_prefix.size();
  }
  // Guest EOF half-closes upstream and the answer keeps flowing; only the
  // upstream -> guest direction's failure is the connection's error.
  Relay relay(client, up, opts_.relay_buffer);
  Relay::Stats r = relay.run();
  s.bytes_up += r.a_to_b.bytes;
  s.bytes_down = r.b_to_a.bytes;
  s.error = r.b_to_a.error;
  if (log_) log_->finish(s.log_id, s.bytes_up, s.bytes_down, s.error);
  return s;
}

void EgressProxy::intercept(ClientStream& client, const ConnectionInfo& info, Request& req,
                            Fd upstream, std::vector<CredentialRule> rules, ConnectionSummary& s) {
  // Every request gets a row of its own: what was asked, which services'
  // credentials went in (never their values), or why it was refused.
  auto on_request = [&](const RequestSeen& seen) {
    if (!log_) return;
    LogEntry r;
    r.sandbox = info.sandbox;
    r.host = s.host;
    r.port = s.port;
    r.kind = "request";
    r.method = seen.method;
    r.path = seen.path;
    r.allowed = true;
    r.finished = true;
    r.rule = seen.services.empty() ? "intercepted: no credential used"
                                   : "intercepted: credential " + seen.services;
    log_->record(r);
  };
  InterceptResult r = opts_.interceptor->run(client, req.upstream_prefix, std::move(upstream),
                                             s.host, s.port, std::move(rules), on_request);
  s.bytes_up = r.bytes_up;
  s.bytes_down = r.bytes_down;
  s.error = !r.refused.empty() ? "refused: " + r.refused : r.error;
  if (log_ && !r.refused.empty()) {
    LogEntry e;
    e.sandbox = info.sandbox;
    e.host = s.host;
    e.port = s.port;
    e.kind = "request";
    e.method = req.method;
    e.rule = "refused: " + r.refused;
    e.error = r.refused;
    e.finished = true;
    log_->record(e);
  }
  if (log_) log_->finish(s.log_id, s.bytes_up, s.bytes_down, s.error);
}

Result<Fd> EgressProxy::open_upstream(const Policy& policy, const ConnectionInfo& info,
                                      const std::string& host, const std::optional<IpAddress>& ip,
                                      uint16_t port, Decision& decision,
                                      std::string& connect_error) {
  decision = decide(policy, info.sandbox, Target{host, ip, port});
  if (!decision.allowed) return err("denied");
  if (!opts_.upstream_override.empty() && !host.empty()) {
    // TEST ONLY: the name was decided; the connection goes to a test server.
    auto n = normalize_host(host);
    auto it = n ? opts_.upstream_override.find(*n + ":" + std::to_string(port))
                : opts_.upstream_override.end();
    if (it != opts_.upstream_override.end()) {
      auto fd = connector_.connect_direct(it->second.ip, it->second.port);
      if (!fd) connect_error = fd.error().message;
      return fd;
    }
  }
  // Which address(es) to connect to: a literal as given, else our own lookup.
  std::optional<IpAddress> literal = ip;
  if (!host.empty()) literal = parse_ip_lenient(host);
  if (literal) {
    // decide() already checked the address itself.
    auto fd = connector_.via_proxy(literal->to_string(), port)
                  ? connector_.connect_via_proxy(literal->to_string(), port)
                  : connector_.connect_direct(*literal, port);
    if (!fd) connect_error = fd.error().message;
    return fd;
  }
  std::string name = *normalize_host(host);  // decide() accepted it, so it is valid
  if (connector_.via_proxy(name, port)) {
    // The host's proxy resolves the name; the name decision is all we have.
    auto fd = connector_.connect_via_proxy(name, port);
    if (!fd) connect_error = fd.error().message;
    return fd;
  }
  auto addrs = resolver_.resolve(name);
  if (!addrs) {
    connect_error = addrs.error().message;
    return addrs.error();
  }
  // Check every address; connect only to checked ones (no second lookup).
  Decision first_denial;
  bool any_allowed = false;
  Result<Fd> fd = err("no usable address");
  for (const auto& a : *addrs) {
    Decision ad = decide(policy, info.sandbox, Target{name, a, port});
    if (!ad.allowed) {
      if (first_denial.rule.empty()) first_denial = ad;
      continue;
    }
    // A CIDR rule that vouched for a non-public address is the better name.
    if (!any_allowed && !is_public(a)) decision = ad;
    any_allowed = true;
    fd = connector_.connect_direct(a, port);
    if (fd) return fd;
    connect_error = fd.error().message;
  }
  if (!any_allowed) {
    decision = first_denial;
    return err("denied");
  }
  return fd;
}

}  // namespace sbx::net
