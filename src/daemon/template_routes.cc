#include "daemon/template_routes.h"

#include "base/fd.h"
#include "proto/template_api.h"

namespace sbx::daemon {

namespace {

std::string chunk(const std::string& data) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return size + data + "\r\n";
}

// {tag} arrives percent-encoded (the client encodes ':' and anything odd).
std::string decoded_param(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

int status_of(const Error& e) { return e.code >= 400 && e.code < 600 ? e.code : 500; }

proto::ProgressEvent failure(const Error& e) {
  proto::ProgressEvent ev;
  ev.error = proto::ApiError{e.message, e.exit_code};
  ev.code = status_of(e);
  return ev;
}

// Answers without a stream: the JSON of the final event's value.
Result<void> reply_plain(ApiConnection& conn, const proto::ProgressEvent& ev, int status) {
  if (ev.error) {
    Error e = err(ev.code, ev.error->message);
    e.exit_code = ev.error->exit_code;
    return e;  // the server answers it
  }
  std::string body = ev.sandbox ? proto::to_json(*ev.sandbox)
                     : ev.tmpl  ? proto::to_json(*ev.tmpl)
                                : std::string("{}");
  conn.write_reply(status, body);
  return ok();
}

}  // namespace

void stream_progress(ApiConnection& conn, const ProgressJob& job) {
  bool open = write_all(conn.fd,
                        "HTTP/1.1 200 OK\r\nServer: sandboxd\r\n"
                        "Content-Type: application/x-ndjson\r\nCache-Control: no-cache\r\n"
                        "Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n")
                  .ok();
  auto send = [&](const proto::ProgressEvent& ev) {
    if (open) open = write_all(conn.fd, chunk(proto::to_json(ev) + "\n")).ok();
  };
  auto final_event = job([&](const std::string& line) {
    proto::ProgressEvent ev;
    ev.progress = line;
    send(ev);
  });
  send(final_event);
  if (open) (void)write_all(conn.fd, "0\r\n\r\n");
}

void TemplateRoutes::install(ApiRouter& r) {
  r.add("GET", "/v1/templates", [this](const ApiRequest& q) { return list(q); });
  r.add_stream("POST", "/v1/templates/save",
               [this](const ApiRequest& q, ApiConnection& c) { return save(q, c); });
  r.add("GET", "/v1/templates/{tag}", [this](const ApiRequest& q) { return inspect(q); });
  r.add("DELETE", "/v1/templates/{tag}", [this](const ApiRequest& q) { return remove(q); });
  r.add_stream("POST", "/v1/sandboxes",
               [this](const ApiRequest& q, ApiConnection& c) { return create(q, c); });
}

Result<ApiReply> TemplateRoutes::list(const ApiRequest&) {
  auto l = templates_.list();
  if (!l) return l.error();
  return ApiReply{200, proto::to_json(*l)};
}

Result<ApiReply> TemplateRoutes::inspect(const ApiRequest& req) {
  auto t = templates_.inspect(decoded_param(req.param("tag")));
  if (!t) return t.error();
  return ApiReply{200, proto::to_json(*t)};
}

Result<ApiReply> TemplateRoutes::remove(const ApiRequest& req) {
  if (auto r = templates_.remove(decoded_param(req.param("tag"))); !r) return r.error();
  return ApiReply{204, ""};
}

Result<void> TemplateRoutes::save(const ApiRequest& req, ApiConnection& conn) {
  auto sr = proto::parse_save_template_request(req.body);
  if (!sr) return err(kBadRequest, sr.error().message);
  ProgressJob job = [&](const auto& progress) {
    auto t = templates_.save(*sr, progress);
    if (!t) return failure(t.error());
    proto::ProgressEvent ev;
    ev.tmpl = *t;
    return ev;
  };
  if (!req.query_flag("progress")) return reply_plain(conn, job(nullptr), 201);
  stream_progress(conn, job);
  return ok();
}

Result<void> TemplateRoutes::create(const ApiRequest& req, ApiConnection& conn) {
  auto cr = proto::parse_create_request(req.body);
  if (!cr) return err(kBadRequest, cr.error().message);
  ProgressJob job = [&](const auto& progress) {
    auto s = templates_.create_sandbox(*cr, progress);
    if (!s) return failure(s.error());
    proto::ProgressEvent ev;
    ev.sandbox = *s;
    return ev;
  };
  if (!req.query_flag("progress")) return reply_plain(conn, job(nullptr), 201);
  stream_progress(conn, job);
  return ok();
}

}  // namespace sbx::daemon
