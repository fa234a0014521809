// Text shapes of sbx output, kept apart from the commands so tests can pin
// them down exactly.
#pragma once

#include <string>
#include <vector>

#include "proto/api.h"
#include "proto/network_summary.h"

namespace sbx::cli {

/// "127.0.0.1:49152->5000/tcp, ..." (empty when none).
std::string format_ports(const std::vector<proto::PortMapping>& ports);
/// The `sbx ls` table: SANDBOX AGENT STATUS PORTS WORKSPACE, columns padded
/// to the widest cell plus three spaces; a header only when empty.
std::string format_sandbox_table(const std::vector<proto::SandboxInfo>& list);
/// The lines printed after a successful create (ending in a newline).
std::string format_created(const proto::SandboxInfo& s, bool colour);
/// Rows as columns padded to the widest cell plus three spaces, trailing
/// blanks trimmed; the first row is the header.
std::string format_table(const std::vector<std::vector<std::string>>& rows);
/// `sbx ports` table: HOST and SANDBOX PORT; a header only when empty.
std::string format_port_table(const std::vector<proto::PortMapping>& ports);
/// "Published 127.0.0.1:49152 -> 5000/tcp\n" (the seed transcript's shape).
std::string format_published(const proto::PortMapping& p);
/// "Unpublished 127.0.0.1:49152 -> 5000/tcp\n"
std::string format_unpublished(const proto::PortMapping& p);
/// What `sbx prune` removed (or would remove, for a dry run) and the space.
std::string format_prune(const proto::PruneResult& r);
/// `sbx inspect` as "Key: value" lines; a failed sandbox's error and
/// console tail follow, indented. Status is coloured only when `colour`.
std::string format_inspect(const proto::SandboxInfo& s, bool colour);
/// One row of the network log as the daemon sends it (GET /v1/policy/log).
struct NetworkLogRow {
  int64_t time_ms = 0;
  std::string sandbox, kind, host;
  uint16_t port = 0;
  std::string method, path;
  bool allowed = false;
  std::string rule;
  uint64_t bytes_up = 0, bytes_down = 0;
  bool finished = false;
};
/// `sbx policy log`: TIME SANDBOX KIND HOST PORT REQUEST VERDICT UP DOWN
/// RULE, in the order given (the daemon's: newest first); a header only
/// when empty. Times are local, or UTC when `utc` (tests). Bytes of a
/// connection still open are shown with a trailing "+"; DNS and denied
/// rows have none ("-"). The verdict is coloured only when `colour`.
std::string format_network_log(const std::vector<NetworkLogRow>& rows, bool colour,
                               bool utc = false);
/// The `sbx policy log --summary` table: one row per host, most recently
/// seen first (proto::summarize_by_host).
std::string format_host_summary(const std::vector<proto::HostSummary>& hosts, bool utc = false);
/// Wraps `text` in the SGR colour `sgr` (e.g. "32" green) when `colour`.
std::string paint(const std::string& text, const char* sgr, bool colour);
/// "Error: <message>\n"
std::string format_error(const std::string& message);

}  // namespace sbx::cli
