#include "daemon/api_server.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <thread>

#include "proto/api.h"
#include "sbx_version.h"

namespace sbx::daemon {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Socket = asio::local::stream_protocol::socket;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

namespace {

constexpr size_t kMaxHeader = 64 * 1024;

Response json_response(const Request& req, int status, std::string body) {
  Response r{static_cast<http::status>(status), req.version()};
  r.set(http::field::server, "sandboxd");
  if (status != 204) r.set(http::field::content_type, "application/json");
  r.keep_alive(req.keep_alive());
  r.body() = std::move(body);
  r.prepare_payload();
  return r;
}

// The answer to a failed request: its status is the Error's category (500
// when it has none) and its body carries the message and any exit code.
std::string error_body(const Error& e) {
  return proto::to_json(proto::ApiError{e.message, e.exit_code});
}
int error_status(const Error& e) { return e.code >= 400 && e.code < 600 ? e.code : 500; }

Response error_response(const Request& req, const Error& e) {
  return json_response(req, error_status(e), error_body(e));
}

}  // namespace

Result<std::unique_ptr<ApiServer>> ApiServer::listen(const std::string& path,
                                                     SandboxManager& manager, PolicyService& policy,
                                                     EgressService& egress, Logger& log,
                                                     std::function<void()> on_shutdown,
                                                     TemplateService* templates) {
  // umask-independent: the socket is for this user only (the directory is
  // 0700 too; SO_PEERCRED is the last check).
  mode_t old = ::umask(0177);
  auto fd = unix_listen(path);
  ::umask(old);
  if (!fd) return fd.error();
  return std::unique_ptr<ApiServer>(
      new ApiServer(std::move(*fd), manager, policy, egress, log, std::move(on_shutdown), templates));
}

ApiServer::ApiServer(Fd listener, SandboxManager& m, PolicyService& p, EgressService& e,
                     Logger& log, std::function<void()> on_shutdown, TemplateService* templates)
    : listener_(std::move(listener)),
      log_(log),
      on_shutdown_(std::move(on_shutdown)),
      sandbox_routes_(m, log),
      policy_routes_(m, p, e),
      template_load_routes_(m.cache_dir(), log) {
  router_.add("GET", "/v1/version", [](const ApiRequest&) -> Result<ApiReply> {
    return ApiReply{200,
                    proto::to_json(proto::VersionInfo{SBX_VERSION, proto::kApiVersion, SBX_GIT})};
  });
  // Answered before the daemon goes: the connection ends here.
  router_.add_stream("POST", "/v1/shutdown", [this](const ApiRequest&, ApiConnection& c) {
    c.write_reply(200, "{}");
    log_.info("shutdown requested over the API");
    if (on_shutdown_) on_shutdown_();
    return ok();
  });
  // Before the sandbox routes: its create (with template builds and
  // progress) is the one that answers.
  if (templates) {
    template_routes_ = std::make_unique<TemplateRoutes>(*templates);
    template_routes_->install(router_);
  }
  sandbox_routes_.install(router_);
  policy_routes_.install(router_);
  template_load_routes_.install(router_);
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

void ApiServer::serve(int fd) {
  asio::io_context io;
  // The socket object owns a dup; run() closes the original.
  Socket sock(io, asio::local::stream_protocol(), ::dup(fd));
  beast::flat_buffer buf;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(kMaxRequestBody);
    parser.header_limit(kMaxHeader);
    beast::error_code ec;
    http::read(sock, buf, parser, ec);
    if (ec == http::error::body_limit) {
      ApiConnection c{fd};
      c.write_reply(413, error_body(err("request body larger than " +
                                        std::to_string(kMaxRequestBody) + " bytes")));
      return;
    }
    if (ec) return;  // closed, or malformed beyond answering
    Request req = parser.release();
    std::string_view target(req.target().data(), req.target().size());
    ApiRequest in;
    in.method = std::string(req.method_string());
    auto q = target.find('?');
    in.path = std::string(target.substr(0, q));
    if (q != std::string_view::npos) in.query = std::string(target.substr(q + 1));
    in.upgrade = std::string(req[http::field::upgrade]);
    in.body = std::move(req.body());

    Response resp;
    auto m = router_.match(in.method, in.path);
    if (!m) {
      resp = error_response(req, m.error());
      if (m.error().code == kMethodNotAllowed)
        resp.set(http::field::allow, router_.allowed_methods(in.path));
    } else {
      in.params = std::move(m->params);
      const auto& route = *m->route;
      if (route.stream) {
        // Bytes the parser read past the request belong to the stream.
        ApiConnection c{fd, std::string(static_cast<const char*>(buf.data().data()), buf.size()),
                        &stopping_};
        auto r = route.stream(in, c);
        if (r) return;
        resp = error_response(req, r.error());
      } else {
        auto r = route.reply(in);
        resp =
            r ? json_response(req, r->status, std::move(r->body)) : error_response(req, r.error());
      }
    }
    http::write(sock, resp, ec);
    if (ec || !req.keep_alive()) return;
  }
}

}  // namespace sbx::daemon
