#include "daemon/api_server.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "base/strings.h"
#include "daemon/exec_bridge.h"
#include "sbx_version.h"
#include "proto/api.h"
#include "proto/messages.h"

namespace sbx::daemon {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Socket = asio::local::stream_protocol::socket;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

namespace {

constexpr size_t kMaxBody = 1 << 20;

Response json_response(const Request& req, http::status st, std::string body) {
  Response r{st, req.version()};
  r.set(http::field::server, "sandboxd");
  r.set(http::field::content_type, "application/json");
  r.keep_alive(req.keep_alive());
  r.body() = std::move(body);
  r.prepare_payload();
  return r;
}

Response error_response(const Request& req, const Error& e, int exit_code = 0) {
  int code = e.code >= 400 && e.code < 600 ? e.code : 500;
  return json_response(req, static_cast<http::status>(code),
                       proto::to_json(proto::ApiError{e.message, exit_code}));
}

// Splits "/v1/sandboxes/NAME/verb?x=y" into path segments and the query.
struct Target {
  std::vector<std::string> parts;
  std::string query;
};
Target parse_target(std::string_view t) {
  Target out;
  auto q = t.find('?');
  if (q != std::string_view::npos) {
    out.query = std::string(t.substr(q + 1));
    t = t.substr(0, q);
  }
  for (auto& p : split(t, '/'))
    if (!p.empty()) out.parts.push_back(p);
  return out;
}

bool query_flag(const std::string& query, const std::string& key) {
  for (auto& kv : split(query, '&')) {
    if (kv == key || kv == key + "=1" || kv == key + "=true") return true;
  }
  return false;
}

// The value of `key` in the query (names and numbers only: no decoding).
std::string query_value(const std::string& query, const std::string& key) {
  for (auto& kv : split(query, '&'))
    if (starts_with(kv, key + "=")) return kv.substr(key.size() + 1);
  return "";
}

constexpr size_t kDefaultLogLimit = 100;
constexpr size_t kMaxLogLimit = 10000;
// Events a stream client may fall behind by before the oldest are dropped.
constexpr size_t kStreamQueue = 1024;

}  // namespace

Result<std::unique_ptr<ApiServer>> ApiServer::listen(const std::string& path,
                                                     SandboxManager& manager, PolicyService& policy,
                                                     EgressService& egress, Logger& log,
                                                     std::function<void()> on_shutdown) {
  // umask-independent: the socket is for this user only (the directory is
  // 0700 too; SO_PEERCRED is the last check).
  mode_t old = ::umask(0177);
  auto fd = unix_listen(path);
  ::umask(old);
  if (!fd) return fd.error();
  return std::unique_ptr<ApiServer>(
      new ApiServer(std::move(*fd), manager, policy, egress, log, std::move(on_shutdown)));
}

ApiServer::~ApiServer() {
  stop();
  std::unique_lock l(mu_);
  for (int fd : conns_) ::shutdown(fd, SHUT_RDWR);
  idle_.wait_for(l, std::chrono::seconds(5), [&] { return active_ == 0; });
}

void ApiServer::stop() {
  stopping_ = true;
  ::shutdown(listener_.get(), SHUT_RDWR);
}

void ApiServer::run() {
  while (!stopping_) {
    pollfd p{listener_.get(), POLLIN, 0};
    int r = ::poll(&p, 1, 500);
    if (r <= 0) continue;
    int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.uid != ::getuid()) {
      log_.warn("refused API connection from uid " + std::to_string(cred.uid));
      ::close(fd);
      continue;
    }
    {
      std::lock_guard l(mu_);
      conns_.insert(fd);
      ++active_;
    }
    std::thread([this, fd] {
      try {
        serve(fd);
      } catch (const std::exception& e) {
        log_.error(std::string("API connection failed: ") + e.what());
      }
      std::lock_guard l(mu_);
      conns_.erase(fd);
      ::close(fd);
      --active_;
      idle_.notify_all();
    }).detach();
  }
}

std::string ApiServer::policy_route(const std::string& method,
                                    const std::vector<std::string>& parts,
                                    const std::string& body, int& status) {
  auto fail = [&](const Error& e) {
    status = e.code >= 400 && e.code < 600 ? e.code : 500;
    return proto::to_json(proto::ApiError{e.message, 0});
  };
  nlohmann::json in = nlohmann::json::object();
  if (method == "POST" && !body.empty()) {
    in = nlohmann::json::parse(body, nullptr, false);
    if (in.is_discarded() || !in.is_object()) return fail(err(400, "policy request: not a JSON object"));
  }
  auto str = [&](const char* k) {
    auto it = in.find(k);
    return it != in.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  // A sandbox-scoped rule or check must name a sandbox that exists.
  std::string sandbox = str("sandbox");
  if (!sandbox.empty()) {
    if (auto s = manager_.get(sandbox); !s) return fail(s.error());
  }
  std::string route = method + " " + (parts.empty() ? "" : parts[0]);
  if (route == "GET ") {
    auto r = policy_.list_json();
    return r ? *r : fail(r.error());
  }
  if (route == "POST rules") {
    auto a = net::parse_action(str("action"));
    if (!a) return fail(err(400, a.error().message));
    auto r = policy_.add(sandbox, *a, str("resources"));
    if (!r) return fail(r.error());
    status = 201;
    return nlohmann::json{{"ids", *r}}.dump();
  }
  if (route == "POST remove") {
    Result<size_t> r = err(400, "give an id or a resource");
    if (auto it = in.find("id"); it != in.end() && it->is_number_integer())
      r = policy_.remove_id(it->get<int64_t>());
    else if (!str("resource").empty())
      r = policy_.remove_resource(sandbox, str("resource"));
    if (!r) return fail(r.error());
    return nlohmann::json{{"removed", *r}}.dump();
  }
  if (route == "POST init") {
    auto r = policy_.init(str("preset"));
    return r ? "{}" : fail(r.error());
  }
  if (route == "POST reset") {
    auto r = policy_.reset();
    return r ? "{}" : fail(r.error());
  }
  if (route == "POST check") {
    auto d = policy_.check(sandbox, str("target"));
    if (!d) return fail(d.error());
    return nlohmann::json{{"allowed", d->allowed}, {"rule", d->rule}, {"rule_id", d->rule_id}}.dump();
  }
  return fail(err(404, "unknown policy route " + route));
}

Result<std::string> ApiServer::log_query(const std::string& query) {
  net::LogQuery q;
  q.sandbox = query_value(query, "sandbox");
  q.blocked_only = query_flag(query, "blocked");
  q.limit = kDefaultLogLimit;
  if (auto l = query_value(query, "limit"); !l.empty()) {
    auto n = parse_uint(l);
    if (!n || *n == 0 || *n > kMaxLogLimit)
      return err(400, "limit must be 1.." + std::to_string(kMaxLogLimit) + ", not '" + l + "'");
    q.limit = static_cast<size_t>(*n);
  }
  // As for rules: a sandbox that does not exist is an error, not an empty
  // log (rows of a removed sandbox of that name would be misleading).
  if (!q.sandbox.empty())
    if (auto s = manager_.get(q.sandbox); !s) return s.error();
  auto rows = egress_.network_log().query(q);
  if (!rows) return rows.error();
  std::string out = "[";
  for (size_t i = 0; i < rows->size(); ++i) {
    if (i) out += ",";
    out += net::to_json((*rows)[i]);
  }
  return out + "]";
}

void ApiServer::log_stream(int fd, const std::string& query) {
  std::string sandbox = query_value(query, "sandbox");
  if (!sandbox.empty()) {
    if (auto s = manager_.get(sandbox); !s) {
      std::string body = proto::to_json(proto::ApiError{s.error().message, 0});
      (void)write_all(fd, "HTTP/1.1 404 Not Found\r\nServer: sandboxd\r\n"
                          "Content-Type: application/json\r\nConnection: close\r\n"
                          "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
      return;
    }
  }
  // Subscribe before the headers go out: a client that saw 200 sees every
  // later event.
  auto sub = egress_.network_log().subscribe(kStreamQueue);
  if (!write_all(fd, "HTTP/1.1 200 OK\r\nServer: sandboxd\r\n"
                     "Content-Type: application/x-ndjson\r\nCache-Control: no-cache\r\n"
                     "Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n")) {
    sub->close();
    return;
  }
  auto chunk = [](const std::string& data) {
    char len[16];
    snprintf(len, sizeof len, "%zx\r\n", data.size());
    return std::string(len) + data + "\r\n";
  };
  while (!stopping_) {
    auto e = sub->next(std::chrono::milliseconds(500));
    // The client sends nothing after its request: readable means gone.
    pollfd p{fd, POLLIN | POLLRDHUP, 0};
    if (::poll(&p, 1, 0) > 0) break;
    if (!e) continue;
    if (!sandbox.empty() && e->sandbox != sandbox) continue;
    if (!write_all(fd, chunk(net::to_json(*e) + "\n"))) break;
  }
  sub->close();
  (void)write_all(fd, "0\r\n\r\n");
}

void ApiServer::serve(int fd) {
  asio::io_context io;
  // The socket object borrows the fd; run() closes it.
  Socket sock(io, asio::local::stream_protocol(), ::dup(fd));
  beast::flat_buffer buf;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(kMaxBody);
    parser.header_limit(64 * 1024);
    beast::error_code ec;
    http::read(sock, buf, parser, ec);
    if (ec) return;  // closed, or malformed beyond answering
    Request req = parser.release();
    auto t = parse_target(std::string_view(req.target().data(), req.target().size()));
    auto method = req.method();
    auto reply = [&](Response r) {
      http::write(sock, r, ec);
      return !ec && req.keep_alive();
    };
    if (t.parts.empty() || t.parts[0] != "v1") {
      if (!reply(error_response(req, err(404, "unknown API path " + std::string(req.target())))))
        return;
      continue;
    }
    auto& p = t.parts;
    Response resp;
    if (p.size() == 2 && p[1] == "version" && method == http::verb::get) {
      resp = json_response(req, http::status::ok,
                           proto::to_json(proto::VersionInfo{SBX_VERSION, proto::kApiVersion, SBX_GIT}));
    } else if (p.size() == 2 && p[1] == "shutdown" && method == http::verb::post) {
      req.keep_alive(false);
      reply(json_response(req, http::status::ok, "{}"));
      log_.info("shutdown requested over the API");
      if (on_shutdown_) on_shutdown_();
      return;
    } else if (p.size() == 4 && p[1] == "policy" && p[2] == "log" && p[3] == "stream" &&
               method == http::verb::get) {
      log_stream(fd, t.query);
      return;
    } else if (p.size() == 3 && p[1] == "policy" && p[2] == "log" && method == http::verb::get) {
      auto body = log_query(t.query);
      resp = body ? json_response(req, http::status::ok, *body) : error_response(req, body.error());
    } else if (p.size() >= 2 && p[1] == "policy") {
      int status = 200;
      std::string body = policy_route(std::string(req.method_string()),
                                      std::vector<std::string>(p.begin() + 2, p.end()), req.body(),
                                      status);
      resp = json_response(req, static_cast<http::status>(status), body);
    } else if (p.size() == 2 && p[1] == "reset" && method == http::verb::post) {
      auto r = manager_.reset();
      resp = r ? json_response(req, http::status::ok, nlohmann::json{{"removed", *r}}.dump())
               : error_response(req, r.error());
    } else if (p.size() == 2 && p[1] == "prune" && method == http::verb::post) {
      auto r = manager_.prune(query_flag(t.query, "dry_run"));
      resp = r ? json_response(req, http::status::ok, proto::to_json(*r)) : error_response(req, r.error());
    } else if (p.size() == 2 && p[1] == "sandboxes" && method == http::verb::get) {
      auto l = manager_.list();
      resp = l ? json_response(req, http::status::ok, proto::to_json(*l)) : error_response(req, l.error());
    } else if (p.size() == 2 && p[1] == "sandboxes" && method == http::verb::post) {
      auto cr = proto::parse_create_request(req.body());
      if (!cr) {
        resp = error_response(req, err(400, cr.error().message));
      } else {
        auto s = manager_.create(*cr);
        resp = s ? json_response(req, http::status::created, proto::to_json(*s))
                 : error_response(req, s.error());
      }
    } else if (p.size() >= 3 && p[1] == "sandboxes") {
      const std::string& name = p[2];
      if (p.size() == 3 && method == http::verb::get) {
        auto s = manager_.get(name);
        resp = s ? json_response(req, http::status::ok, proto::to_json(*s)) : error_response(req, s.error());
      } else if (p.size() == 3 && method == http::verb::delete_) {
        auto r = manager_.remove(name, query_flag(t.query, "force"));
        if (r) {
          resp = json_response(req, http::status::no_content, "");
        } else {
          resp = error_response(req, r.error());
        }
      } else if (p.size() == 4 && p[3] == "start" && method == http::verb::post) {
        auto s = manager_.start(name);
        resp = s ? json_response(req, http::status::ok, proto::to_json(*s)) : error_response(req, s.error());
      } else if (p.size() == 4 && p[3] == "docker" && method == http::verb::get) {
        auto r = manager_.docker_state(name);
        resp = r ? json_response(req, http::status::ok, *r) : error_response(req, r.error());
      } else if (p.size() == 4 && p[3] == "ports" && method == http::verb::get) {
        auto r = manager_.ports(name);
        resp = r ? json_response(req, http::status::ok, proto::to_json(*r)) : error_response(req, r.error());
      } else if (p.size() == 4 && p[3] == "ports" && method == http::verb::post) {
        auto m = proto::parse_port_mapping(req.body());
        if (!m) {
          resp = error_response(req, err(400, m.error().message));
        } else {
          auto r = manager_.publish(name, *m);
          resp = r ? json_response(req, http::status::created, proto::to_json(*r))
                   : error_response(req, r.error());
        }
      } else if (p.size() == 5 && p[3] == "ports" && p[4] == "unpublish" &&
                 method == http::verb::post) {
        auto m = proto::parse_port_mapping(req.body());
        if (!m) {
          resp = error_response(req, err(400, m.error().message));
        } else {
          auto r = manager_.unpublish(name, *m);
          resp = r ? json_response(req, http::status::ok, proto::to_json(*r)) : error_response(req, r.error());
        }
      } else if (p.size() == 4 && p[3] == "stop" && method == http::verb::post) {
        auto s = manager_.stop(name);
        resp = s ? json_response(req, http::status::ok, proto::to_json(*s)) : error_response(req, s.error());
      } else if (p.size() == 4 && p[3] == "exec" && method == http::verb::post) {
        if (!beast::iequals(req[http::field::upgrade], std::string(proto::kExecUpgrade))) {
          resp = error_response(req, err(400, std::string("exec needs 'Upgrade: ") +
                                                  std::string(proto::kExecUpgrade) + "'"));
        } else {
          auto er = proto::parse_exec_request(req.body());
          if (!er) {
            resp = error_response(req, err(400, er.error().message));
          } else {
            int code = 0;
            auto ch = manager_.exec(name, *er, &code);
            if (!ch) {
              resp = error_response(req, code ? err(400, ch.error().message) : ch.error(), code);
            } else {
              Response up{http::status::switching_protocols, req.version()};
              up.set(http::field::connection, "Upgrade");
              up.set(http::field::upgrade, std::string(proto::kExecUpgrade));
              http::write(sock, up, ec);
              if (ec) {
                (*ch)->abort();
                return;
              }
              // Bytes the parser read past the request belong to the stream.
              std::string pending(static_cast<const char*>(buf.data().data()), buf.size());
              bridge_exec(fd, std::move(pending), *ch, log_);
              return;
            }
          }
        }
      } else {
        resp = error_response(req, err(404, "unknown API path " + std::string(req.target())));
      }
    } else {
      resp = error_response(req, err(404, "unknown API path " + std::string(req.target())));
    }
    if (!reply(std::move(resp))) return;
  }
}

}  // namespace sbx::daemon
