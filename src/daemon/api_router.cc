#include "daemon/api_router.h"

#include "base/fd.h"
#include "base/strings.h"

namespace sbx::daemon {

namespace {

std::vector<std::string> segments_of(std::string_view path) {
  std::vector<std::string> out;
  for (auto& p : split(path, '/'))
    if (!p.empty()) out.push_back(p);
  return out;
}

bool is_capture(const std::string& s) {
  return s.size() > 2 && s.front() == '{' && s.back() == '}';
}

// Matches `segs` against a route's pattern, filling the captures.
bool matches(const ApiRouter::Route& r, const std::vector<std::string>& segs,
             std::map<std::string, std::string>* params) {
  if (r.segments.size() != segs.size()) return false;
  std::map<std::string, std::string> got;
  for (size_t i = 0; i < segs.size(); ++i) {
    if (is_capture(r.segments[i]))
      got[r.segments[i].substr(1, r.segments[i].size() - 2)] = segs[i];
    else if (r.segments[i] != segs[i])
      return false;
  }
  if (params) *params = std::move(got);
  return true;
}

const char* reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 405:
      return "Method Not Allowed";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 409:
      return "Conflict";
    case 413:
      return "Payload Too Large";
    default:
      return status < 500 ? "Client Error" : "Server Error";
  }
}

}  // namespace

const std::string& ApiRequest::param(const std::string& name) const {
  static const std::string kNone;
  auto it = params.find(name);
  return it == params.end() ? kNone : it->second;
}

bool ApiRequest::query_flag(const std::string& key) const {
  for (auto& kv : split(query, '&'))
    if (kv == key || kv == key + "=1" || kv == key + "=true") return true;
  return false;
}

std::string ApiRequest::query_value(const std::string& key) const {
  for (auto& kv : split(query, '&'))
    if (starts_with(kv, key + "=")) return kv.substr(key.size() + 1);
  return "";
}

bool ApiConnection::write_reply(int status, const std::string& body) {
  return write_all(fd, "HTTP/1.1 " + std::to_string(status) + " " + reason(status) +
                           "\r\nServer: sandboxd\r\nContent-Type: application/json\r\n"
                           "Connection: close\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\n\r\n" + body)
      .ok();
}

void ApiRouter::add(std::string method, std::string_view pattern, ReplyHandler h) {
  add_route(std::move(method), pattern, std::move(h), nullptr);
}

void ApiRouter::add_stream(std::string method, std::string_view pattern, StreamHandler h) {
  add_route(std::move(method), pattern, nullptr, std::move(h));
}

void ApiRouter::add_route(std::string method, std::string_view pattern, ReplyHandler r,
                          StreamHandler s) {
  routes_.push_back(Route{std::move(method), segments_of(pattern), std::move(r), std::move(s)});
}

Result<ApiRouter::Match> ApiRouter::match(std::string_view method, std::string_view path) const {
  auto segs = segments_of(path);
  Match m;
  for (auto& r : routes_) {
    if (r.method == method && matches(r, segs, &m.params)) {
      m.route = &r;
      return m;
    }
  }
  if (auto allowed = allowed_methods(path); !allowed.empty())
    return err(kMethodNotAllowed, "method " + std::string(method) + " is not allowed on " +
                                      std::string(path) + "; use " + allowed);
  return err(kNotFound, "unknown API path " + std::string(path));
}

std::string ApiRouter::allowed_methods(std::string_view path) const {
  auto segs = segments_of(path);
  std::vector<std::string> out;
  for (auto& r : routes_)
    if (matches(r, segs, nullptr) && std::find(out.begin(), out.end(), r.method) == out.end())
      out.push_back(r.method);
  return join(out, ", ");
}

}  // namespace sbx::daemon
