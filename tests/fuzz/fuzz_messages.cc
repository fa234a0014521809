// The JSON control/exec message parsers: hostile JSON from the guest.
// Anything accepted must survive a to_json/parse round trip.
#include <cstdint>
#include <string_view>

#include "fuzz_check.h"
#include "proto/messages.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sbx::proto;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto r = parse_exec_request(in); r.ok()) {
    auto again = parse_exec_request(to_json(*r));
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(again->argv == r->argv && again->env == r->env && again->cwd == r->cwd);
  }
  if (auto r = parse_control_request(in); r.ok()) {
    auto again = parse_control_request(to_json(*r));
    FUZZ_CHECK(again.ok() && again->id == r->id && again->op == r->op);
  }
  if (auto r = parse_control_response(in); r.ok()) {
    FUZZ_CHECK(parse_control_response(to_json(*r)).ok());
  }
  // findings/tcp_connect_missing_port: a request without "port" once parsed
  // as port 0; the field is required now.
  if (auto r = parse_tcp_connect(in); r.ok()) {
    FUZZ_CHECK(r->port != 0);
    auto again = parse_tcp_connect(to_json(*r));
    FUZZ_CHECK(again.ok() && again->port == r->port && again->host == r->host);
  }
  (void)open_kind(in);
  if (auto r = parse_exit(in); r.ok()) FUZZ_CHECK(parse_exit(to_json(*r)).ok());
  if (auto r = parse_open_failure(in); r.ok()) FUZZ_CHECK(parse_open_failure(to_json(*r)).ok());
  (void)valid_env_entry(in);
  return 0;
}
