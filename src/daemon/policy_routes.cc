#include "daemon/policy_routes.h"

#include <poll.h>

#include <cstdio>

#include "base/fd.h"
#include "base/strings.h"
#include "proto/api.h"

namespace sbx::daemon {

namespace {

constexpr size_t kDefaultLogLimit = 100;
constexpr size_t kMaxLogLimit = 10000;
// Events a stream client may fall behind by before the oldest are dropped.
constexpr size_t kStreamQueue = 1024;

// A request body that does not parse is the client's fault.
template <class T>
Result<T> bad_request(Result<T> r) {
  if (r) return r;
  return err(kBadRequest, r.error().message);
}

proto::NetworkLogEntry to_proto(const net::LogEntry& e) {
  proto::NetworkLogEntry p;
  p.id = e.id;
  p.time_ms = e.time_ms;
  p.sandbox = e.sandbox;
  p.host = e.host;
  p.port = e.port;
  p.kind = e.kind;
  p.method = e.method;
  p.path = e.path;
  p.rule = e.rule;
  p.allowed = e.allowed;
  p.bytes_up = e.bytes_up;
  p.bytes_down = e.bytes_down;
  p.finished = e.finished;
  p.error = e.error;
  return p;
}

std::string chunk(const std::string& data) {
  char len[16];
  snprintf(len, sizeof len, "%zx\r\n", data.size());
  return std::string(len) + data + "\r\n";
}

}  // namespace

void PolicyRoutes::install(ApiRouter& r) {
  auto reply = [this](Result<ApiReply> (PolicyRoutes::*f)(const ApiRequest&)) {
    return [this, f](const ApiRequest& req) { return (this->*f)(req); };
  };
  r.add("GET", "/v1/policy", reply(&PolicyRoutes::list));
  r.add("POST", "/v1/policy/rules", reply(&PolicyRoutes::add_rules));
  r.add("POST", "/v1/policy/remove", reply(&PolicyRoutes::remove));
  r.add("POST", "/v1/policy/init", reply(&PolicyRoutes::init));
  r.add("POST", "/v1/policy/reset", reply(&PolicyRoutes::reset));
  r.add("POST", "/v1/policy/check", reply(&PolicyRoutes::check));
  r.add("GET", "/v1/policy/log", reply(&PolicyRoutes::log));
  r.add_stream("GET", "/v1/policy/log/stream",
               [this](const ApiRequest& req, ApiConnection& c) { return log_stream(req, c); });
}

Result<void> PolicyRoutes::known_sandbox(const std::string& sandbox) {
  if (sandbox.empty()) return ok();
  if (auto s = manager_.get(sandbox); !s) return s.error();
  return ok();
}

Result<ApiReply> PolicyRoutes::list(const ApiRequest&) {
  auto l = policy_.listing();
  if (!l) return l.error();
  return ApiReply{200, proto::to_json(*l)};
}

Result<ApiReply> PolicyRoutes::add_rules(const ApiRequest& req) {
  auto in = bad_request(proto::parse_policy_rule_request(req.body));
  if (!in) return in.error();
  if (auto k = known_sandbox(in->sandbox); !k) return k.error();
  auto a = net::parse_action(in->action);
  if (!a) return err(kBadRequest, a.error().message);
  auto ids = policy_.add(in->sandbox, *a, in->resources);
  if (!ids) return ids.error();
  return ApiReply{201, proto::to_json(proto::PolicyRuleAdded{*ids})};
}

Result<ApiReply> PolicyRoutes::remove(const ApiRequest& req) {
  auto in = bad_request(proto::parse_policy_remove_request(req.body));
  if (!in) return in.error();
  if (auto k = known_sandbox(in->sandbox); !k) return k.error();
  auto n =
      in->id > 0 ? policy_.remove_id(in->id) : policy_.remove_resource(in->sandbox, in->resource);
  if (!n) return n.error();
  return ApiReply{200, proto::to_json(proto::PolicyRemoved{*n})};
}

Result<ApiReply> PolicyRoutes::init(const ApiRequest& req) {
  auto in = bad_request(proto::parse_policy_init_request(req.body));
  if (!in) return in.error();
  if (auto r = policy_.init(in->preset); !r) return r.error();
  return ApiReply{};
}

Result<ApiReply> PolicyRoutes::reset(const ApiRequest&) {
  if (auto r = policy_.reset(); !r) return r.error();
  return ApiReply{};
}

Result<ApiReply> PolicyRoutes::check(const ApiRequest& req) {
  auto in = bad_request(proto::parse_policy_check_request(req.body));
  if (!in) return in.error();
  if (auto k = known_sandbox(in->sandbox); !k) return k.error();
  auto d = policy_.check(in->sandbox, in->target);
  if (!d) return d.error();
  return ApiReply{200, proto::to_json(proto::PolicyDecision{d->allowed, d->rule, d->rule_id})};
}

Result<ApiReply> PolicyRoutes::log(const ApiRequest& req) {
  net::LogQuery q;
  q.sandbox = req.query_value("sandbox");
  q.blocked_only = req.query_flag("blocked");
  q.limit = kDefaultLogLimit;
  if (auto l = req.query_value("limit"); !l.empty()) {
    auto n = parse_uint(l);
    if (!n || *n == 0 || *n > kMaxLogLimit)
      return err(kBadRequest,
                 "limit must be 1.." + std::to_string(kMaxLogLimit) + ", not '" + l + "'");
    q.limit = static_cast<size_t>(*n);
  }
  if (auto k = known_sandbox(q.sandbox); !k) return k.error();
  auto rows = egress_.network_log().query(q);
  if (!rows) return rows.error();
  std::vector<proto::NetworkLogEntry> out;
  out.reserve(rows->size());
  for (auto& e : *rows) out.push_back(to_proto(e));
  return ApiReply{200, proto::to_json(out)};
}

Result<void> PolicyRoutes::log_stream(const ApiRequest& req, ApiConnection& conn) {
  std::string sandbox = req.query_value("sandbox");
  if (auto k = known_sandbox(sandbox); !k) return k.error();
  // Subscribe before the headers go out: a client that saw 200 sees every
  // later event.
  auto sub = egress_.network_log().subscribe(kStreamQueue);
  if (!write_all(conn.fd,
                 "HTTP/1.1 200 OK\r\nServer: sandboxd\r\n"
                 "Content-Type: application/x-ndjson\r\nCache-Control: no-cache\r\n"
                 "Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n")) {
    sub->close();
    return ok();
  }
  auto last_write = std::chrono::steady_clock::now();
  while (!(conn.stopping && *conn.stopping)) {
    auto e = sub->next(std::chrono::milliseconds(500));
    // The client sends nothing after its request: readable means gone.
    pollfd p{conn.fd, POLLIN | POLLRDHUP, 0};
    if (::poll(&p, 1, 0) > 0) break;
    auto now = std::chrono::steady_clock::now();
    if (!e) {
      // A heartbeat: lets a follower that wants to stop (the dashboard
      // quitting) regain control without waiting for traffic.
      if (now - last_write >= std::chrono::seconds(1)) {
        if (!write_all(conn.fd, chunk("\n"))) break;
        last_write = now;
      }
      continue;
    }
    if (!sandbox.empty() && e->sandbox != sandbox) continue;
    if (!write_all(conn.fd, chunk(proto::to_json(to_proto(*e)) + "\n"))) break;
    last_write = now;
  }
  sub->close();
  (void)write_all(conn.fd, "0\r\n\r\n");
  return ok();
}

}  // namespace sbx::daemon
