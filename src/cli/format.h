// Text shapes of sbx output, kept apart from the commands so tests can pin
// them down exactly.
#pragma once

#include <string>
#include <vector>

#include "proto/api.h"

namespace sbx::cli {

/// "127.0.0.1:49152->5000/tcp, ..." (empty when none).
std::string format_ports(const std::vector<proto::PortMapping>& ports);
/// The `sbx ls` table: SANDBOX AGENT STATUS PORTS WORKSPACE, columns padded
/// to the widest cell plus three spaces; a header only when empty.
std::string format_sandbox_table(const std::vector<proto::SandboxInfo>& list);
/// The lines printed after a successful create (ending in a newline).
std::string format_created(const proto::SandboxInfo& s, bool colour);
/// "Error: <message>\n"
std::string format_error(const std::string& message);

}  // namespace sbx::cli
