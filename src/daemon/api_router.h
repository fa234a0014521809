// The daemon API's route table: (method, path pattern) -> handler. Patterns
// are literal segments and `{name}` captures ("/v1/sandboxes/{name}/start").
// A path no pattern matches is 404; a path some pattern matches under
// another method is 405. Free of HTTP plumbing, so routes are testable
// without a socket.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace sbx::daemon {

/// HTTP 405: the path exists, the method does not.
inline constexpr int kMethodNotAllowed = 405;

/// A request as a route handler sees it.
struct ApiRequest {
  std::string method;  ///< "GET", "POST", ...
  std::string path;    ///< the target without its query
  std::string query;   ///< after '?', undecoded
  std::string body;
  std::string upgrade;                        ///< the Upgrade header, if any
  std::map<std::string, std::string> params;  ///< the `{name}` captures

  /// The capture `name` ("" if the pattern has none).
  const std::string& param(const std::string& name) const;
  /// True for `key`, `key=1` or `key=true` in the query.
  bool query_flag(const std::string& key) const;
  /// The value of `key` in the query (names and numbers only: not decoded).
  std::string query_value(const std::string& key) const;
};

/// A JSON answer. Failures are Errors instead (status from Error::code).
struct ApiReply {
  int status = 200;
  std::string body = "{}";
};

/// The connection a streaming route takes over: it writes its own response.
struct ApiConnection {
  int fd = -1;
  std::string pending;  ///< bytes read past the request (an upgrade's first frames)
  const std::atomic<bool>* stopping = nullptr;  ///< the server is stopping

  /// Writes a complete JSON response that closes the connection.
  bool write_reply(int status, const std::string& body);
};

/// Answers a request with a JSON body.
using ReplyHandler = std::function<Result<ApiReply>(const ApiRequest&)>;
/// Takes over the connection. An Error means nothing was written yet: the
/// server answers with it and goes on; success means the connection is done.
using StreamHandler = std::function<Result<void>(const ApiRequest&, ApiConnection&)>;

class ApiRouter {
 public:
  struct Route {
    std::string method;
    std::vector<std::string> segments;  ///< "{x}" captures
    ReplyHandler reply;                 ///< set for an ordinary route
    StreamHandler stream;               ///< set for a streaming route
  };
  /// The route a request resolved to, with its captures.
  struct Match {
    const Route* route = nullptr;
    std::map<std::string, std::string> params;
  };

  /// Adds a route answered with a JSON reply.
  void add(std::string method, std::string_view pattern, ReplyHandler h);
  /// Adds a route that takes over the connection.
  void add_stream(std::string method, std::string_view pattern, StreamHandler h);

  /// The route for `method` and `path` (no query): an Error coded kNotFound
  /// for an unknown path, kMethodNotAllowed (naming the allowed methods)
  /// for a known path asked with another method.
  Result<Match> match(std::string_view method, std::string_view path) const;
  /// The methods some route accepts on `path` ("GET, POST"); empty if none.
  std::string allowed_methods(std::string_view path) const;

 private:
  void add_route(std::string method, std::string_view pattern, ReplyHandler r, StreamHandler s);
  std::vector<Route> routes_;
};

}  // namespace sbx::daemon
