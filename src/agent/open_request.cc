#include "agent/open_request.h"

namespace sbx::agent {

Result<OpenRequest> parse_open_request(std::string_view payload) {
  auto kind = proto::open_kind(payload);
  if (!kind) return kind.error();
  if (*kind == "tcp") {
    auto req = proto::parse_tcp_connect(payload);
    if (!req) return req.error();
    return OpenRequest(std::move(*req));
  }
  if (*kind == "egress") return err("egress channels are opened by the guest");
  auto req = proto::parse_exec_request(payload);
  if (!req) return req.error();
  return OpenRequest(std::move(*req));
}

}  // namespace sbx::agent
