// HTTP/1.1 client for the sandboxd API (proto/api.h) over its unix socket.
// One connection per call: the daemon is local, connecting costs microseconds,
// and it keeps the client free of connection-state bugs.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "base/fd.h"
#include "base/result.h"
#include "proto/api.h"
#include "proto/messages.h"
#include "proto/template_api.h"

namespace sbx::client {

/// Error::code of a call that found no daemon on the socket (it is missing
/// or refuses connections): HTTP 503 Service Unavailable. Other failures
/// carry the daemon's HTTP status (kNotFound, kConflict, ...) and, for exec,
/// the exit code a shell would give; 0 when no HTTP answer arrived.
inline constexpr int kNoDaemon = 503;

/// True when `e` says no daemon listens on the socket: the caller may start one.
inline bool daemon_absent(const Error& e) { return e.code == kNoDaemon; }

/// An upgraded exec connection: the raw socket and the bytes the HTTP reader
/// had already consumed past the 101 response headers (the first frames).
struct ExecStream {
  Fd fd;
  std::string pending;
};

/// Calls the daemon API. Every method returns the decoded answer or an Error
/// carrying the daemon's message, its HTTP status as Error::code and, for
/// exec, Error::exit_code.
class ApiClient {
 public:
  /// Timeout for quick calls (list, get, version...).
  static constexpr std::chrono::seconds kShortTimeout{60};
  /// Create/start boot a VM and, on the first run, build the template.
  static constexpr std::chrono::seconds kLongTimeout{30 * 60};

  explicit ApiClient(std::string socket_path) : socket_path_(std::move(socket_path)) {}

  const std::string& socket_path() const { return socket_path_; }

  /// GET /v1/version
  Result<proto::VersionInfo> version(std::chrono::milliseconds timeout = kShortTimeout);
  /// GET /v1/sandboxes
  Result<std::vector<proto::SandboxInfo>> list();
  /// GET /v1/sandboxes as the daemon's raw JSON array text (for `ls --json`).
  Result<std::string> list_json();
  /// POST /v1/sandboxes
  Result<proto::SandboxInfo> create(const proto::CreateRequest& req);
  /// GET /v1/sandboxes/NAME
  Result<proto::SandboxInfo> get(const std::string& name);
  /// POST /v1/sandboxes/NAME/start
  Result<proto::SandboxInfo> start(const std::string& name);
  /// POST /v1/sandboxes/NAME/stop
  Result<proto::SandboxInfo> stop(const std::string& name);
  /// DELETE /v1/sandboxes/NAME[?force=1]
  Result<void> remove(const std::string& name, bool force);
  /// GET /v1/sandboxes/NAME as the daemon's JSON text, pretty-printed
  /// (for `inspect --json`: fields this client does not know survive).
  Result<std::string> get_json(const std::string& name);
  /// The private dockerd's state ("absent", "starting", "running", "failed").
  Result<std::string> docker_state(const std::string& name);
  /// GET /v1/sandboxes/NAME/ports
  Result<std::vector<proto::PortMapping>> ports(const std::string& name);
  /// POST /v1/sandboxes/NAME/ports: the mapping as bound (host port chosen
  /// by the daemon when 0).
  Result<proto::PortMapping> publish(const std::string& name, const proto::PortMapping& p);
  /// POST /v1/sandboxes/NAME/ports/unpublish: the mappings removed.
  Result<std::vector<proto::PortMapping>> unpublish(const std::string& name,
                                                    const proto::PortMapping& p);
  /// POST /v1/reset: names of the sandboxes removed.
  Result<std::vector<std::string>> reset();
  /// POST /v1/prune[?dry_run=1]
  Result<proto::PruneResult> prune(bool dry_run);
  /// GET /v1/policy
  Result<proto::PolicyListing> policy();
  /// POST /v1/policy/rules
  Result<proto::PolicyRuleAdded> add_policy_rules(const proto::PolicyRuleRequest& req);
  /// POST /v1/policy/remove
  Result<proto::PolicyRemoved> remove_policy_rules(const proto::PolicyRemoveRequest& req);
  /// POST /v1/policy/init
  Result<void> init_policy(const proto::PolicyInitRequest& req);
  /// POST /v1/policy/reset
  Result<void> reset_policy();
  /// POST /v1/policy/check
  Result<proto::PolicyDecision> check_policy(const proto::PolicyCheckRequest& req);
  /// Filters of GET /v1/policy/log.
  struct NetworkLogQuery {
    std::string sandbox;   ///< empty: every sandbox
    int limit = 100;       ///< 1..10000
    bool blocked = false;  ///< denied connections only
  };
  /// GET /v1/policy/log: newest first.
  Result<std::vector<proto::NetworkLogEntry>> network_log(const NetworkLogQuery& q);
  /// GET /v1/policy/log/stream: calls `on_entry` for each new entry until it
  /// returns false or the daemon ends the stream. `on_idle`, when set, is
  /// called on each heartbeat (a second without events); returning false
  /// stops following too.
  Result<void> follow_network_log(
      const std::string& sandbox,
      const std::function<bool(const proto::NetworkLogEntry&)>& on_entry,
      const std::function<bool()>& on_idle = {});
  /// POST /v1/shutdown
  Result<void> shutdown();
  /// POST /v1/sandboxes/NAME/exec with an upgrade to sbx-exec/1. On success
  /// the returned stream carries frames; a command that cannot start fails
  /// with Error::exit_code set (126/127).
  Result<ExecStream> exec(const std::string& name, const proto::ExecRequest& req);

  /// A raw HTTP answer (exposed for the tests and for list_json).
  struct Response {
    int status = 0;
    std::string body;
  };
  /// Performs one request. Non-2xx answers are returned as errors.
  Result<Response> request(const std::string& method, const std::string& target,
                           const std::string& body, std::chrono::milliseconds timeout);
  /// GETs a streaming route (newline-delimited JSON, chunked) and calls
  /// `on_line` with each line, without its newline, as it arrives. Returns
  /// when `on_line` returns false, or the daemon ends the stream (ok), or
  /// on an error. A non-2xx answer is an error, as for request().
  Result<void> stream_lines(const std::string& target,
                            const std::function<bool(std::string_view)>& on_line,
                            const std::string& method = "GET", const std::string& body = "");

  // ---- Templates (proto/template_api.h; template_client.cc) ----
  /// Called with each stage line of a build or save as the daemon reports it.
  using ProgressFn = std::function<void(const std::string&)>;
  /// POST /v1/sandboxes?progress=1: creates a sandbox (building its agent's
  /// template first if needed), passing each stage line to `progress`.
  Result<proto::SandboxInfo> create(const proto::CreateRequest& req, const ProgressFn& progress);
  /// GET /v1/templates
  Result<std::vector<proto::TemplateInfo>> templates();
  /// GET /v1/templates as the daemon's JSON array text (for `template ls --json`).
  Result<std::string> templates_json();
  /// GET /v1/templates/TAG
  Result<proto::TemplateInfo> template_info(const std::string& tag);
  /// DELETE /v1/templates/TAG
  Result<void> remove_template(const std::string& tag);
  /// POST /v1/templates/save?progress=1
  Result<proto::TemplateInfo> save_template(const proto::SaveTemplateRequest& req,
                                            const ProgressFn& progress);

 private:
  Result<Fd> connect_socket();

  std::string socket_path_;
};

/// Percent-encodes a path segment (names are validated by the daemon, but a
/// typo such as "a/b" must not change the route).
std::string encode_path_segment(const std::string& s);

}  // namespace sbx::client
