#include "client/api_client.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "base/strings.h"
#include "proto/json_util.h"

namespace sbx::client {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using local_socket = asio::local::stream_protocol::socket;

namespace {

std::string sandbox_target(const std::string& name, const std::string& suffix = "") {
  return "/v1/sandboxes/" + encode_path_segment(name) + suffix;
}

http::verb to_verb(const std::string& method) { return http::string_to_verb(method); }

// One HTTP exchange on a connected socket, bounded by a timeout. Async ops
// driven by run_for() give us the timeout that Asio's blocking calls lack.
struct Exchange {
  asio::io_context io;
  local_socket sock{io};
  beast::flat_buffer buf;
  http::response<http::string_body> res;

  Result<void> run(http::request<http::string_body>& req, std::chrono::milliseconds timeout) {
    bool done = false;
    beast::error_code result;
    http::async_write(sock, req, [&](beast::error_code ec, size_t) {
      if (ec) {
        result = ec;
        done = true;
        return;
      }
      // A 101 answer has no body: Beast stops after the headers and leaves
      // whatever followed them in `buf`.
      http::async_read(sock, buf, res, [&](beast::error_code ec2, size_t) {
        result = ec2;
        done = true;
      });
    });
    io.run_for(timeout);
    if (!done) {
      beast::error_code ignored;
      sock.close(ignored);
      io.restart();
      io.run();
      return err("sandboxd did not answer within " +
                 std::to_string(std::chrono::duration_cast<std::chrono::seconds>(timeout).count()) +
                 " s");
    }
    if (result) return err("talking to sandboxd: " + result.message());
    return ok();
  }
};

}  // namespace

std::string encode_path_segment(const std::string& s) { return percent_encode(s); }

namespace {

// The Error for a non-2xx answer: the daemon's message, status and exit code.
Error http_error(int status, const std::string& body) {
  auto e = proto::parse_api_error(body);
  if (e && !e->message.empty()) return Error{e->message, status, e->exit_code};
  std::string msg = "sandboxd answered HTTP " + std::to_string(status);
  if (!body.empty()) msg += ": " + body.substr(0, 200);
  return Error{msg, status};
}

// A 2xx answer that does not decode: the daemon and this client disagree.
template <class T>
Result<T> decoded(Result<T> r) {
  if (r) return r;
  return err("malformed answer from sandboxd: " + r.error().message);
}

}  // namespace

Result<Fd> ApiClient::connect_socket() {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path_.size() >= sizeof(addr.sun_path))
    return err("socket path too long: " + socket_path_);
  std::memcpy(addr.sun_path, socket_path_.c_str(), socket_path_.size() + 1);
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return errno_error("socket");
  for (;;) {
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return fd;
    if (errno == EINTR) continue;
    // ENOENT/ECONNREFUSED mean "not running": the caller may start one.
    int e = errno;
    Error out = errno_error("cannot connect to sandboxd at " + socket_path_, e);
    if (e == ENOENT || e == ECONNREFUSED) out.code = kNoDaemon;
    return out;
  }
}

Result<ApiClient::Response> ApiClient::request(const std::string& method, const std::string& target,
                                               const std::string& body,
                                               std::chrono::milliseconds timeout) {
  auto fd = connect_socket();
  if (!fd) return fd.error();
  Exchange ex;
  ex.sock.assign(asio::local::stream_protocol(), fd->release());
  http::request<http::string_body> req{to_verb(method), target, 11};
  req.set(http::field::host, "sandboxd");
  req.set(http::field::connection, "close");
  if (!body.empty()) req.set(http::field::content_type, "application/json");
  req.body() = body;
  req.prepare_payload();
  auto r = ex.run(req, timeout);
  if (!r) return r.error();
  int status = static_cast<int>(ex.res.result_int());
  if (status < 200 || status > 299) return http_error(status, ex.res.body());
  return Response{status, std::move(ex.res.body())};
}

Result<void> ApiClient::stream_lines(const std::string& target,
                                     const std::function<bool(std::string_view)>& on_line,
                                     const std::string& method, const std::string& body) {
  auto fd = connect_socket();
  if (!fd) return fd.error();
  asio::io_context io;
  local_socket sock{io};
  sock.assign(asio::local::stream_protocol(), fd->release());
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, "sandboxd");
  req.set(http::field::connection, "close");
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
  }
  req.prepare_payload();
  beast::error_code ec;
  http::write(sock, req, ec);
  if (ec) return err("sending to sandboxd: " + ec.message());
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  // Only an error answer has a body we keep; a stream is consumed below.
  parser.body_limit(64 * 1024);
  http::read_header(sock, buf, parser, ec);
  if (ec) return err("reading from sandboxd: " + ec.message());
  int status = static_cast<int>(parser.get().result_int());
  if (status < 200 || status > 299) {
    http::read(sock, buf, parser, ec);
    return http_error(status, parser.get().body());
  }
  std::string pending;
  bool stopped = false;
  auto on_chunk = [&](std::uint64_t, beast::string_view body, beast::error_code& cec) -> size_t {
    pending.append(body.data(), body.size());
    size_t start = 0;
    for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
      if (!on_line(std::string_view(pending).substr(start, nl - start))) {
        stopped = true;
        cec = asio::error::operation_aborted;
        return body.size();
      }
    }
    pending.erase(0, start);
    // A line longer than any log entry is not one: stop rather than grow.
    if (pending.size() > (1u << 20)) cec = http::error::body_limit;
    return body.size();
  };
  parser.on_chunk_body(on_chunk);
  http::read(sock, buf, parser, ec);
  if (stopped || !ec || ec == http::error::end_of_stream) return ok();
  return err("the stream from sandboxd ended: " + ec.message());
}

Result<proto::VersionInfo> ApiClient::version(std::chrono::milliseconds timeout) {
  auto r = request("GET", "/v1/version", "", timeout);
  if (!r) return r.error();
  return decoded(proto::parse_version_info(r->body));
}

Result<std::vector<proto::SandboxInfo>> ApiClient::list() {
  auto r = request("GET", "/v1/sandboxes", "", kShortTimeout);
  if (!r) return r.error();
  return decoded(proto::parse_sandbox_list(r->body));
}

Result<std::string> ApiClient::list_json() {
  auto r = request("GET", "/v1/sandboxes", "", kShortTimeout);
  if (!r) return r.error();
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("sandboxes") || !j["sandboxes"].is_array())
    return err("malformed sandbox list from sandboxd");
  return proto::dump_json(j["sandboxes"], 2);
}

Result<proto::SandboxInfo> ApiClient::create(const proto::CreateRequest& req) {
  auto r = request("POST", "/v1/sandboxes", proto::to_json(req), kLongTimeout);
  if (!r) return r.error();
  return decoded(proto::parse_sandbox_info(r->body));
}

Result<proto::SandboxInfo> ApiClient::get(const std::string& name) {
  auto r = request("GET", sandbox_target(name), "", kShortTimeout);
  if (!r) return r.error();
  return decoded(proto::parse_sandbox_info(r->body));
}

Result<proto::SandboxInfo> ApiClient::start(const std::string& name) {
  auto r = request("POST", sandbox_target(name, "/start"), "", kLongTimeout);
  if (!r) return r.error();
  return decoded(proto::parse_sandbox_info(r->body));
}

Result<proto::SandboxInfo> ApiClient::stop(const std::string& name) {
  auto r = request("POST", sandbox_target(name, "/stop"), "", kLongTimeout);
  if (!r) return r.error();
  return decoded(proto::parse_sandbox_info(r->body));
}

Result<void> ApiClient::remove(const std::string& name, bool force) {
  auto r = request("DELETE", sandbox_target(name, force ? "?force=1" : ""), "", kLongTimeout);
  if (!r) return r.error();
  return ok();
}

Result<std::string> ApiClient::get_json(const std::string& name) {
  auto r = request("GET", sandbox_target(name), "", kShortTimeout);
  if (!r) return r.error();
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return err("malformed sandbox from sandboxd");
  return proto::dump_json(j, 2);
}

Result<std::string> ApiClient::docker_state(const std::string& name) {
  auto r = request("GET", sandbox_target(name, "/docker"), "", kShortTimeout);
  if (!r) return r.error();
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j["state"].is_string())
    return err("malformed docker state from sandboxd");
  return j["state"].get<std::string>();
}

Result<std::vector<proto::PortMapping>> ApiClient::ports(const std::string& name) {
  auto r = request("GET", sandbox_target(name, "/ports"), "", kShortTimeout);
  if (!r) return r.error();
  return decoded(proto::parse_port_list(r->body));
}

Result<proto::PortMapping> ApiClient::publish(const std::string& name,
                                              const proto::PortMapping& p) {
  auto r = request("POST", sandbox_target(name, "/ports"), proto::to_json(p), kShortTimeout);
  if (!r) return r.error();
  return decoded(proto::parse_port_mapping(r->body));
}

Result<std::vector<proto::PortMapping>> ApiClient::unpublish(const std::string& name,
                                                             const proto::PortMapping& p) {
  auto r =
      request("POST", sandbox_target(name, "/ports/unpublish"), proto::to_json(p), kShortTimeout);
  if (!r) return r.error();
  return decoded(proto::parse_port_list(r->body));
}

Result<std::vector<std::string>> ApiClient::reset() {
  // Stops every VM: as slow as the slowest stop.
  auto r = request("POST", "/v1/reset", "", kLongTimeout);
  if (!r) return r.error();
  auto removed = decoded(proto::parse_reset_result(r->body));
  if (!removed) return removed.error();
  return std::move(removed->removed);
}

Result<proto::PruneResult> ApiClient::prune(bool dry_run) {
  auto r = request("POST", dry_run ? "/v1/prune?dry_run=1" : "/v1/prune", "", kLongTimeout);
  if (!r) return r.error();
  return decoded(proto::parse_prune_result(r->body));
}

Result<void> ApiClient::shutdown() {
  auto r = request("POST", "/v1/shutdown", "", kShortTimeout);
  if (!r) return r.error();
  return ok();
}

Result<ExecStream> ApiClient::exec(const std::string& name, const proto::ExecRequest& exec_req) {
  auto fd = connect_socket();
  if (!fd) return fd.error();
  Exchange ex;
  ex.sock.assign(asio::local::stream_protocol(), fd->release());
  http::request<http::string_body> req{http::verb::post, sandbox_target(name, "/exec"), 11};
  req.set(http::field::host, "sandboxd");
  req.set(http::field::connection, "Upgrade");
  req.set(http::field::upgrade, std::string(proto::kExecUpgrade));
  req.set(http::field::content_type, "application/json");
  req.body() = proto::to_json(exec_req);
  req.prepare_payload();
  // Starting a stopped sandbox happens before the 101, so allow for a boot.
  auto r = ex.run(req, kLongTimeout);
  if (!r) return r.error();
  int status = static_cast<int>(ex.res.result_int());
  if (status == 101) {
    ExecStream s;
    auto data = ex.buf.data();
    s.pending.assign(static_cast<const char*>(data.data()), data.size());
    beast::error_code ec;
    int raw = ex.sock.release(ec);
    if (ec) return err("taking over the exec socket: " + ec.message());
    s.fd.reset(raw);
    return s;
  }
  if (status >= 200 && status <= 299) {
    // A detached exec may be answered without an upgrade: nothing to stream.
    return ExecStream{};
  }
  return http_error(status, ex.res.body());
}

Result<proto::PolicyListing> ApiClient::policy() {
  auto r = request("GET", "/v1/policy", "", kShortTimeout);
  if (!r) return r.error();
  return decoded(proto::parse_policy_listing(r->body));
}

Result<proto::PolicyRuleAdded> ApiClient::add_policy_rules(const proto::PolicyRuleRequest& req) {
  auto r = request("POST", "/v1/policy/rules", proto::to_json(req), kShortTimeout);
  if (!r) return r.error();
  return decoded(proto::parse_policy_rule_added(r->body));
}

Result<proto::PolicyRemoved> ApiClient::remove_policy_rules(const proto::PolicyRemoveRequest& req) {
  auto r = request("POST", "/v1/policy/remove", proto::to_json(req), kShortTimeout);
  if (!r) return r.error();
  return decoded(proto::parse_policy_removed(r->body));
}

Result<void> ApiClient::init_policy(const proto::PolicyInitRequest& req) {
  auto r = request("POST", "/v1/policy/init", proto::to_json(req), kShortTimeout);
  if (!r) return r.error();
  return ok();
}

Result<void> ApiClient::reset_policy() {
  auto r = request("POST", "/v1/policy/reset", "{}", kShortTimeout);
  if (!r) return r.error();
  return ok();
}

Result<proto::PolicyDecision> ApiClient::check_policy(const proto::PolicyCheckRequest& req) {
  auto r = request("POST", "/v1/policy/check", proto::to_json(req), kShortTimeout);
  if (!r) return r.error();
  return decoded(proto::parse_policy_decision(r->body));
}

Result<std::vector<proto::NetworkLogEntry>> ApiClient::network_log(const NetworkLogQuery& q) {
  std::string target = "/v1/policy/log?limit=" + std::to_string(q.limit);
  if (!q.sandbox.empty()) target += "&sandbox=" + percent_encode(q.sandbox);
  if (q.blocked) target += "&blocked=1";
  auto r = request("GET", target, "", kShortTimeout);
  if (!r) return r.error();
  return decoded(proto::parse_network_log(r->body));
}

Result<void> ApiClient::follow_network_log(
    const std::string& sandbox,
    const std::function<bool(const proto::NetworkLogEntry&)>& on_entry,
    const std::function<bool()>& on_idle) {
  std::string target = "/v1/policy/log/stream";
  if (!sandbox.empty()) target += "?sandbox=" + percent_encode(sandbox);
  return stream_lines(target, [&](std::string_view line) {
    if (line.empty()) return on_idle ? on_idle() : true;
    auto e = proto::parse_network_log_entry(line);
    // Not ours to judge (a newer daemon's event kind?): skip it.
    if (!e) return true;
    return on_entry(*e);
  });
}

}  // namespace sbx::client
