// The daemon API: JSON bodies exchanged between `sbx` and sandboxd over
// HTTP/1.1 on a unix socket. Pure types and codecs, no I/O.
//
// Routes (all under /v1; errors are {"message": "..."} with a 4xx/5xx status):
//   GET    /v1/version                     -> VersionInfo
//   GET    /v1/sandboxes                   -> {"sandboxes": [SandboxInfo...]}
//   POST   /v1/sandboxes        CreateRequest -> 201 SandboxInfo (409 name taken);
//          with ?progress=1: 200, chunked application/x-ndjson of
//          ProgressEvent lines (template build stages), the last one
//          carrying the SandboxInfo or the error (proto/template_api.h)
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
//   POST   /v1/reset                        -> ResetResult: every sandbox
//          stopped and deleted
//   POST   /v1/prune[?dry_run=1]            -> PruneResult
//   GET    /v1/policy                      -> PolicyListing
//   POST   /v1/policy/rules   PolicyRuleRequest -> 201 PolicyRuleAdded
//   POST   /v1/policy/remove  PolicyRemoveRequest -> PolicyRemoved
//   POST   /v1/policy/init    PolicyInitRequest -> {}
//   POST   /v1/policy/reset                -> {}
//   POST   /v1/policy/check   PolicyCheckRequest -> PolicyDecision
//          (a "sandbox" in a policy request must exist: 404 otherwise)
//   GET    /v1/policy/log[?sandbox=NAME&limit=N&blocked=1]
//          -> [NetworkLogEntry...] newest first (limit 1..10000, default
//          100; 404 for an unknown sandbox)
//   GET    /v1/policy/log/stream[?sandbox=NAME]
//          -> 200, chunked application/x-ndjson: one NetworkLogEntry per line as
//          decisions are made and connections end (a finished connection
//          comes again with its byte counts), until the client goes away
//          or the daemon stops. A slow reader loses the oldest events. An
//          empty line is sent after each second without events, so a client
//          can stop following without waiting for traffic.
//   POST   /v1/shutdown                    -> 200, then sandboxd exits
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "proto/kit_bundle.h"

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
  /// The agent's entry command (its kit's `entry`) and the environment it
  /// runs with; empty for `shell` (a login bash).
  std::vector<std::string> entry;
  std::vector<std::string> entry_env;  ///< "K=V"
  /// The VM's host CPU use since the previous sample, in percent of one
  /// core (QEMU's utime+stime; -1: not running or no sample yet).
  double cpu_percent = -1;
  uint64_t rss_bytes = 0;  ///< QEMU's resident memory; 0 when not running
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
  /// A user's kit (sbx create --kit DIR): its bytes, which sandboxd checks
  /// again and keeps for this sandbox; absent: `agent` is a built-in kit.
  std::optional<KitBundle> kit;
  /// Copy the kit's host_config files from the user's home into the
  /// sandbox (false: --no-host-config). Absent in a request: true.
  bool host_config = true;
  /// The template to boot from (sbx create -t TAG); empty: the agent's own
  /// (its kit's layer, built if needed, or `shell`).
  std::string template_tag;
  /// Carry the host's trusted CAs into the guest's trust store (on unless
  /// --no-host-ca).
  bool host_ca = true;
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

/// POST /v1/reset: the sandboxes stopped and removed.
struct ResetResult {
  std::vector<std::string> removed;
};
std::string to_json(const ResetResult& r);
Result<ResetResult> parse_reset_result(std::string_view json);

// ---- Policy routes (/v1/policy...) ----

/// One user rule, as `sbx policy ls` lists it.
struct PolicyRule {
  int64_t id = 0;
  std::string scope;     ///< "global", or the sandbox's name
  std::string action;    ///< "allow" or "deny"
  std::string resource;  ///< e.g. "*.example.com:443"
};

/// GET /v1/policy: the user's rules and what the preset adds.
struct PolicyListing {
  std::string preset;                ///< "balanced", "deny-all", ...
  std::vector<PolicyRule> rules;
  std::vector<std::string> builtin;  ///< the preset's rules, "allow RESOURCE"
};
std::string to_json(const PolicyListing& l);
Result<PolicyListing> parse_policy_listing(std::string_view json);

/// POST /v1/policy/rules: adds comma-separated resources.
struct PolicyRuleRequest {
  std::string action;     ///< "allow" or "deny" (required)
  std::string sandbox;    ///< empty: a global rule
  std::string resources;  ///< required
};
std::string to_json(const PolicyRuleRequest& r);
Result<PolicyRuleRequest> parse_policy_rule_request(std::string_view json);

/// 201 answer to PolicyRuleRequest: the new rules' ids.
struct PolicyRuleAdded {
  std::vector<int64_t> ids;
};
std::string to_json(const PolicyRuleAdded& r);
Result<PolicyRuleAdded> parse_policy_rule_added(std::string_view json);

/// POST /v1/policy/remove: by id, or by resource in the sandbox's scope
/// (exactly one of the two).
struct PolicyRemoveRequest {
  int64_t id = 0;  ///< 0: remove by resource
  std::string resource;
  std::string sandbox;  ///< scope of `resource`; empty: global
};
std::string to_json(const PolicyRemoveRequest& r);
Result<PolicyRemoveRequest> parse_policy_remove_request(std::string_view json);

/// Answer to PolicyRemoveRequest.
struct PolicyRemoved {
  uint64_t removed = 0;
};
std::string to_json(const PolicyRemoved& r);
Result<PolicyRemoved> parse_policy_removed(std::string_view json);

/// POST /v1/policy/init: sets the default policy.
struct PolicyInitRequest {
  std::string preset;  ///< required
};
std::string to_json(const PolicyInitRequest& r);
Result<PolicyInitRequest> parse_policy_init_request(std::string_view json);

/// POST /v1/policy/check: what a connection to `target` would get.
struct PolicyCheckRequest {
  std::string sandbox;  ///< empty: global rules only
  std::string target;   ///< "host", "host:port", an IP... (required)
};
std::string to_json(const PolicyCheckRequest& r);
Result<PolicyCheckRequest> parse_policy_check_request(std::string_view json);

/// Answer to PolicyCheckRequest.
struct PolicyDecision {
  bool allowed = false;
  std::string rule;  ///< the rule that decided, as text
  int64_t rule_id = 0;  ///< the user rule's id; 0 for a preset rule
};
std::string to_json(const PolicyDecision& d);
Result<PolicyDecision> parse_policy_decision(std::string_view json);

/// One entry of GET /v1/policy/log (an array of them) and of the
/// /v1/policy/log/stream lines.
struct NetworkLogEntry {
  int64_t id = 0;
  int64_t time_ms = 0;  ///< Unix epoch milliseconds
  std::string sandbox;
  std::string host;
  uint16_t port = 0;
  std::string kind;  ///< "forward", "transparent" or "dns"
  std::string method;
  std::string path;
  std::string rule;
  bool allowed = false;  ///< "verdict": "allow" / "deny"
  uint64_t bytes_up = 0;
  uint64_t bytes_down = 0;
  bool finished = false;
  std::string error;
};
std::string to_json(const NetworkLogEntry& e);
Result<NetworkLogEntry> parse_network_log_entry(std::string_view json);
/// The JSON array of GET /v1/policy/log.
std::string to_json(const std::vector<NetworkLogEntry>& log);
Result<std::vector<NetworkLogEntry>> parse_network_log(std::string_view json);

/// Sandbox names: 1-63 chars of [a-z0-9_.-], starting with a letter or digit.
Result<void> validate_sandbox_name(std::string_view name);
/// Derives AGENT-DIRNAME from a workspace path, sanitised to a valid name.
std::string default_sandbox_name(std::string_view agent, std::string_view workspace);

}  // namespace sbx::proto
