// The payload of a host OPEN, decoded in one place: which kind of channel it
// asks for and that kind's request.
#pragma once

#include <string_view>
#include <variant>

#include "base/result.h"
#include "proto/messages.h"

namespace sbx::agent {

/// A host OPEN: run a command, or connect a TCP stream inside the guest.
using OpenRequest = std::variant<proto::ExecRequest, proto::TcpConnectRequest>;

/// Decodes an OPEN payload by its "kind" ("exec" when absent). Errors carry
/// the parser's message; "egress" is refused (only the guest opens those).
Result<OpenRequest> parse_open_request(std::string_view payload);

}  // namespace sbx::agent
