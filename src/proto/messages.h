// Typed messages carried as JSON inside agent-link frames. Decoders treat the
// input as hostile: every field is type-checked and bounded.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace sbx::proto {

/// Limits on what an OPEN request may carry.
inline constexpr size_t kMaxArgs = 4096;
inline constexpr size_t kMaxEnv = 4096;

/// OPEN payload: run a command in the guest.
struct ExecRequest {
  std::vector<std::string> argv;
  std::vector<std::string> env;  ///< "K=V" entries added to the login env
  std::string cwd;               ///< empty: the user's home
  std::string user;              ///< empty: the sandbox's default user
  bool tty = false;
  uint16_t rows = 24, cols = 80;
  /// Keep running after the channel closes (sbx exec -d).
  bool detach = false;
};
std::string to_json(const ExecRequest& r);
Result<ExecRequest> parse_exec_request(std::string_view json);

/// OPEN payload for a TCP stream into the guest (published ports): the agent
/// connects to host:port inside the guest and relays bytes as DATA frames
/// with the same credit rules as exec. EOF is a half-close (shutdown of the
/// write side); either side ends the channel with CLOSE and then forgets it.
/// The agent sends CLOSE once both directions have seen EOF, or on error.
/// Distinguished from ExecRequest by "kind": "tcp" (exec is the default).
struct TcpConnectRequest {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
};
std::string to_json(const TcpConnectRequest& r);
/// Which kind of channel an OPEN payload asks for: "exec", "tcp" or "egress".
Result<std::string> open_kind(std::string_view json);
Result<TcpConnectRequest> parse_tcp_connect(std::string_view json);

/// OPEN payload from the guest (on a channel with kGuestChannelBit): one TCP
/// connection leaving the sandbox, which sandboxd decides on and relays.
/// "kind": "egress". DATA/EOF/WINDOW/CLOSE then follow the tcp channel rules
/// in both directions; the host answers OPEN_OK or OPEN_FAIL.
struct EgressOpen {
  /// "forward": the guest connected to the in-guest proxy port (HTTP
  /// CONNECT or absolute-form). "transparent": a redirected connection whose
  /// original destination is ip:port.
  std::string mode = "forward";
  std::string ip;     ///< transparent only: an IPv4 or IPv6 literal
  uint16_t port = 0;  ///< transparent only: 1..65535
};
std::string to_json(const EgressOpen& r);
/// Refuses unknown modes, and transparent requests without a valid ip/port.
Result<EgressOpen> parse_egress_open(std::string_view json);

/// EXIT payload.
struct ExitInfo {
  int exit_code = 0;  ///< shell-style: 128+n for a death by signal n
  int signal = 0;
};
std::string to_json(const ExitInfo& e);
Result<ExitInfo> parse_exit(std::string_view json);

/// OPEN_FAIL payload. `code` follows docker exec: 126 not executable,
/// 127 not found, 125 anything else.
struct OpenFailure {
  std::string error;
  int code = 125;
};
std::string to_json(const OpenFailure& f);
Result<OpenFailure> parse_open_failure(std::string_view json);

/// Channel-0 request from host to guest.
struct ControlRequest {
  uint64_t id = 0;
  std::string op;  ///< "ping", "info", "shutdown", "sync"
};
std::string to_json(const ControlRequest& r);
Result<ControlRequest> parse_control_request(std::string_view json);

/// Channel-0 response, or an unsolicited event (id 0) from the guest.
struct ControlResponse {
  uint64_t id = 0;
  bool ok = true;
  std::string error;
  std::string body;  ///< op-specific JSON object text, "{}" when empty
};
std::string to_json(const ControlResponse& r);
Result<ControlResponse> parse_control_response(std::string_view json);

/// Whether `v` is a valid KEY=VALUE environment entry (KEY non-empty,
/// no NUL, KEY without '=').
bool valid_env_entry(std::string_view v);

}  // namespace sbx::proto
