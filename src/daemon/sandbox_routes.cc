#include "daemon/sandbox_routes.h"

#include "base/fd.h"
#include "base/strings.h"
#include "daemon/exec_bridge.h"
#include "proto/api.h"
#include "proto/messages.h"

namespace sbx::daemon {

namespace {

// A request body that does not parse is the client's fault.
template <class T>
Result<T> bad_request(Result<T> r) {
  if (r) return r;
  return err(kBadRequest, r.error().message);
}

// A typed answer, or the error as it is.
template <class T>
Result<ApiReply> answer(const Result<T>& r, int status = 200) {
  if (!r) return r.error();
  return ApiReply{status, proto::to_json(*r)};
}

}  // namespace

void SandboxRoutes::install(ApiRouter& r) {
  auto reply = [this](Result<ApiReply> (SandboxRoutes::*f)(const ApiRequest&)) {
    return [this, f](const ApiRequest& req) { return (this->*f)(req); };
  };
  r.add("GET", "/v1/sandboxes", reply(&SandboxRoutes::list));
  r.add("POST", "/v1/sandboxes", reply(&SandboxRoutes::create));
  r.add("GET", "/v1/sandboxes/{name}", reply(&SandboxRoutes::get));
  r.add("DELETE", "/v1/sandboxes/{name}", reply(&SandboxRoutes::remove));
  r.add("POST", "/v1/sandboxes/{name}/start", reply(&SandboxRoutes::start));
  r.add("POST", "/v1/sandboxes/{name}/stop", reply(&SandboxRoutes::stop));
  r.add("GET", "/v1/sandboxes/{name}/docker", reply(&SandboxRoutes::docker));
  r.add("GET", "/v1/sandboxes/{name}/ports", reply(&SandboxRoutes::ports));
  r.add("POST", "/v1/sandboxes/{name}/ports", reply(&SandboxRoutes::publish));
  r.add("POST", "/v1/sandboxes/{name}/ports/unpublish", reply(&SandboxRoutes::unpublish));
  r.add_stream("POST", "/v1/sandboxes/{name}/exec",
               [this](const ApiRequest& req, ApiConnection& c) { return exec(req, c); });
  r.add("POST", "/v1/reset", reply(&SandboxRoutes::reset));
  r.add("POST", "/v1/prune", reply(&SandboxRoutes::prune));
}

Result<ApiReply> SandboxRoutes::list(const ApiRequest&) { return answer(manager_.list()); }

Result<ApiReply> SandboxRoutes::create(const ApiRequest& req) {
  auto cr = bad_request(proto::parse_create_request(req.body));
  if (!cr) return cr.error();
  return answer(manager_.create(*cr), 201);
}

Result<ApiReply> SandboxRoutes::get(const ApiRequest& req) {
  return answer(manager_.get(req.param("name")));
}

Result<ApiReply> SandboxRoutes::remove(const ApiRequest& req) {
  if (auto r = manager_.remove(req.param("name"), req.query_flag("force")); !r) return r.error();
  return ApiReply{204, ""};
}

Result<ApiReply> SandboxRoutes::start(const ApiRequest& req) {
  return answer(manager_.start(req.param("name")));
}

Result<ApiReply> SandboxRoutes::stop(const ApiRequest& req) {
  return answer(manager_.stop(req.param("name")));
}

Result<ApiReply> SandboxRoutes::docker(const ApiRequest& req) {
  // Already the agent's JSON ({"state", "since_ms"}).
  auto r = manager_.docker_state(req.param("name"));
  if (!r) return r.error();
  return ApiReply{200, *r};
}

Result<ApiReply> SandboxRoutes::ports(const ApiRequest& req) {
  return answer(manager_.ports(req.param("name")));
}

Result<ApiReply> SandboxRoutes::publish(const ApiRequest& req) {
  auto m = bad_request(proto::parse_port_mapping(req.body));
  if (!m) return m.error();
  return answer(manager_.publish(req.param("name"), *m), 201);
}

Result<ApiReply> SandboxRoutes::unpublish(const ApiRequest& req) {
  auto m = bad_request(proto::parse_port_mapping(req.body));
  if (!m) return m.error();
  return answer(manager_.unpublish(req.param("name"), *m));
}

Result<ApiReply> SandboxRoutes::reset(const ApiRequest&) {
  auto r = manager_.reset();
  if (!r) return r.error();
  return ApiReply{200, proto::to_json(proto::ResetResult{*r})};
}

Result<ApiReply> SandboxRoutes::prune(const ApiRequest& req) {
  return answer(manager_.prune(req.query_flag("dry_run")));
}

Result<void> SandboxRoutes::exec(const ApiRequest& req, ApiConnection& conn) {
  if (to_lower(req.upgrade) != proto::kExecUpgrade)
    return err(kBadRequest, "exec needs 'Upgrade: " + std::string(proto::kExecUpgrade) + "'");
  auto er = bad_request(proto::parse_exec_request(req.body));
  if (!er) return er.error();
  auto ch = manager_.exec(req.param("name"), *er);
  if (!ch) {
    Error e = ch.error();
    // A command that cannot run is the request's fault, with a shell's code.
    if (e.exit_code) e.code = kBadRequest;
    return e;
  }
  if (!write_all(conn.fd, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: " +
                              std::string(proto::kExecUpgrade) + "\r\n\r\n")) {
    (*ch)->abort();
    return ok();
  }
  bridge_exec(conn.fd, std::move(conn.pending), *ch, log_);
  return ok();
}

}  // namespace sbx::daemon
