// The plaintext side of an intercepted TLS tunnel (net/request_rewriter.h):
// guest bytes are split into requests, each decided and given credentials.
// The guest chooses how its bytes are segmented, so feeding the same input
// at once and in pieces must give the same verdict and the same bytes
// upstream; and what goes upstream must itself be a valid request stream
// for the tunnel's host (no request smuggled past the framing).
//
// Input: byte 0 picks the piece size (1..64), the rest is the stream.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "net/request_rewriter.h"

namespace {

using sbx::net::CredentialFormat;
using sbx::net::CredentialRule;
using sbx::net::RequestRewriter;
using sbx::net::RequestSeen;

constexpr const char* kHost = "api.example.com";

std::vector<CredentialRule> rules() {
  return {CredentialRule{"example", "x-api-key", CredentialFormat::kRaw, "PLACEHOLDER-FUZZ",
                         "sk-FUZZ-KEY"},
          CredentialRule{"github", "Authorization", CredentialFormat::kBasicToken, "", "ghp-FUZZ"}};
}

struct Outcome {
  bool ok = true;
  std::string out;
  size_t requests = 0;
  bool passthrough = false;
};

Outcome run(std::string_view in, size_t piece, std::vector<CredentialRule> r) {
  RequestRewriter rw(kHost, 443, std::move(r));
  Outcome o;
  std::vector<RequestSeen> seen;
  for (size_t at = 0; at < in.size(); at += piece) {
    auto part = rw.feed(in.substr(at, piece), seen);
    if (!part) {
      o.ok = false;
      break;
    }
    o.out += *part;
  }
  o.requests = seen.size();
  o.passthrough = rw.passthrough();
  for (const auto& s : seen) FUZZ_CHECK(s.path.size() <= 2048 && s.method.size() <= 32);
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  size_t piece = data[0] % 64 + 1;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (in.empty()) return 0;
  Outcome whole = run(in, in.size(), rules());
  Outcome split = run(in, piece, rules());
  FUZZ_CHECK(whole.ok == split.ok);
  if (!whole.ok) return 0;
  FUZZ_CHECK(whole.out == split.out);
  FUZZ_CHECK(whole.requests == split.requests);
  // Upstream gets a stream that parses to the same requests for this host.
  if (!whole.passthrough) {
    Outcome again = run(whole.out, whole.out.size() + 1, {});
    FUZZ_CHECK(again.ok);
    FUZZ_CHECK(again.requests == whole.requests);
  }
  return 0;
}
