// The daemon API: JSON bodies exchanged between `sbx` and sandboxd over
// HTTP/1.1 on a unix socket. Pure types and codecs, no I/O.
//
// Routes (all under /v1; errors are {"message": "..."} with a 4xx/5xx status):
//   GET    /v1/version                     -> VersionInfo
//   GET    /v1/sandboxes                   -> {"sandboxes": [SandboxInfo...]}
//   POST   /v1/sandboxes        CreateRequest -> 201 SandboxInfo (409 name taken)
//   GET    /v1/sandboxes/NAME              -> SandboxInfo (404 unknown)
//   POST   /v1/sandboxes/NAME/start        -> SandboxInfo once the guest answers
//   POST   /v1/sandboxes/NAME/stop         -> SandboxInfo once QEMU has exited
//   DELETE /v1/sandboxes/NAME[?force=1]    -> 204 (409 if running, no force)
//   POST   /v1/sandboxes/NAME/exec  ExecRequest, with "Connection: Upgrade"
//          and "Upgrade: sbx-exec/1": starts the sandbox if needed, then
//          answers 101 and the socket carries proto frames on channel 1
//          (client->daemon: DATA stdin, EOF, RESIZE, SIGNAL, WINDOW;
//          daemon->client: DATA stdout, DATA_ERR, WINDOW, EXIT), with the
//          same credit rules as the agent link. A command that cannot start
//          is answered with a JSON error carrying "exit_code" 126/127.
//   GET    /v1/sandboxes/NAME/docker       -> {"state": "absent|starting|running|failed",
//          "since_ms": N} from the guest agent (409 when not running)
//   GET    /v1/sandboxes/NAME/ports        -> {"ports": [PortMapping...]}
//   POST   /v1/sandboxes/NAME/ports  PortMapping (host_port 0: the first free
//          port from 49152) -> 201 PortMapping as bound
//   POST   /v1/sandboxes/NAME/ports/unpublish  PortMapping (sandbox_port 0:
//          any) -> {"ports": [removed...]} (404 when nothing matched)
//   POST   /v1/reset                        -> {"removed": [names]}: every
//          sandbox stopped and deleted
//   POST   /v1/prune[?dry_run=1]            -> PruneResult
//   GET    /v1/policy                      -> {"preset", "rules": [...], "builtin": [...]}
//   POST   /v1/policy/{rules,remove,init,reset,check}  (see daemon/api_server.cc)
//   GET    /v1/policy/log[?sandbox=NAME&limit=N&blocked=1]
//          -> [LogEntry...] newest first (limit 1..10000, default 100; 404
//          for an unknown sandbox). LogEntry: {"id", "time_ms", "sandbox",
//          "host", "port", "kind": "forward|transparent|dns", "method",
//          "path", "rule", "verdict": "allow|deny", "bytes_up",
//          "bytes_down", "finished", "error"}
//   GET    /v1/policy/log/stream[?sandbox=NAME]
//          -> 200, chunked application/x-ndjson: one LogEntry per line as
//          decisions are made and connections end (a finished connection
//          comes again with its byte counts), until the client goes away
//          or the daemon stops. A slow reader loses the oldest events.
//   POST   /v1/shutdown                    -> 200, then sandboxd exits
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace sbx::proto {

inline constexpr int kApiVersion = 1;
inline constexpr std::string_view kExecUpgrade = "sbx-exec/1";
/// The channel number used on an upgraded exec connection.
inline constexpr uint32_t kExecStreamChannel = 1;

struct VersionInfo {
  std::string version;  ///< sbx release, e.g. "0.1.0"
  int api = kApiVersion;
  std::string git;      ///< commit the daemon was built from, if known
};
std::string to_json(const VersionInfo& v);
Result<VersionInfo> parse_version_info(std::string_view json);

/// A published port (issue 5 fills these in).
struct PortMapping {
  std::string host_ip = "127.0.0.1";
  uint16_t host_port = 0;
  uint16_t sandbox_port = 0;
  std::string proto = "tcp";
};

struct SandboxInfo {
  std::string name;
  std::string agent;       ///< "shell", ...
  std::string status;      ///< "created", "starting", "running", "stopping", "stopped", "failed"
  std::string workspace;   ///< absolute host path, mounted at the same path
  uint64_t memory_bytes = 0;
  int cpus = 0;
  uint64_t disk_bytes = 0;
  std::string template_id;
  std::string created_at;  ///< RFC 3339, UTC
  std::vector<PortMapping> ports;
  std::string error;       ///< why it failed, with the console tail, if it did
  /// Created with --deny-network: every connection and DNS query is denied.
  bool deny_network = false;
};
std::string to_json(const SandboxInfo& s);
Result<SandboxInfo> parse_sandbox_info(std::string_view json);
std::string to_json(const std::vector<SandboxInfo>& list);
Result<std::vector<SandboxInfo>> parse_sandbox_list(std::string_view json);

/// Parses `[[HOST_IP:]HOST_PORT:]SANDBOX_PORT[/tcp]` (sbx ports --publish,
/// sbx run -p). HOST_IP defaults to 127.0.0.1, HOST_PORT to 0 (pick one).
Result<PortMapping> parse_port_spec(std::string_view spec);
/// Parses `HOST_PORT` or `[HOST_IP:]HOST_PORT:SANDBOX_PORT` (--unpublish);
/// sandbox_port 0 matches any, host_ip empty matches any.
Result<PortMapping> parse_unpublish_spec(std::string_view spec);
/// "127.0.0.1:49152->5000/tcp", as `sbx ls` shows it.
std::string format_port(const PortMapping& p);
std::string to_json(const PortMapping& p);
Result<PortMapping> parse_port_mapping(std::string_view json);
std::string to_json(const std::vector<PortMapping>& ports);
Result<std::vector<PortMapping>> parse_port_list(std::string_view json);

/// What `sbx prune` removed (or would remove with dry_run).
struct PruneResult {
  std::vector<std::string> sandboxes;  ///< stopped sandboxes removed
  std::vector<std::string> artifacts;  ///< cached kernels/initramfs/templates no sandbox uses
  uint64_t bytes = 0;                  ///< disk space freed
  bool dry_run = false;
};
std::string to_json(const PruneResult& r);
Result<PruneResult> parse_prune_result(std::string_view json);

struct CreateRequest {
  std::string name;        ///< empty: AGENT-DIRNAME, sanitised
  std::string agent = "shell";
  std::string workspace;   ///< absolute path; must exist and be a directory
  uint64_t memory_bytes = 0;  ///< 0: default
  int cpus = 0;               ///< 0: default
  bool start = true;          ///< boot it right away
  std::vector<PortMapping> ports;  ///< published once it runs (-p)
  uint64_t docker_bytes = 0;       ///< private dockerd volume; 0: 10 GiB
  /// No egress at all, whatever the policy rules say (sbx create --deny-network).
  bool deny_network = false;
};
std::string to_json(const CreateRequest& r);
Result<CreateRequest> parse_create_request(std::string_view json);

/// Error body of a failed request.
struct ApiError {
  std::string message;
  int exit_code = 0;  ///< for exec: 126/127 when the command cannot run
};
std::string to_json(const ApiError& e);
Result<ApiError> parse_api_error(std::string_view json);

/// Sandbox names: 1-63 chars of [a-z0-9_.-], starting with a letter or digit.
Result<void> validate_sandbox_name(std::string_view name);
/// Derives AGENT-DIRNAME from a workspace path, sanitised to a valid name.
std::string default_sandbox_name(std::string_view agent, std::string_view workspace);

}  // namespace sbx::proto
