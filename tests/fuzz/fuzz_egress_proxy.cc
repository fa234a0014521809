// EgressProxy::handle's first-bytes dispatch: what a guest connection says
// before any decision (an HTTP proxy request head, a TLS ClientHello, a
// plain HTTP request, or anything else), read through an in-memory stream
// in arbitrary pieces. Every policy here denies, and the resolver aborts if
// asked, so no upstream is ever reached: the target covers the parsers and
// the refusal, never the relay.
// Input: [mode] [chunk] client bytes...; mode bits 0-1: forward, transparent
// to 443, to 80, to 22; bits 2-3: deny-all preset with deny rules, the
// --deny-network policy, no policy loaded; bit 4: a private original address.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "net/egress_proxy.h"

namespace {

using namespace sbx;

// Hands out the input in pieces of `chunk` bytes, then EOF; keeps what the
// proxy answers.
class MemoryStream : public net::ClientStream {
 public:
  MemoryStream(std::string_view in, size_t chunk) : in_(in), chunk_(chunk) {}
  Result<size_t> read(char* buf, size_t n) override {
    FUZZ_CHECK(n > 0);
    size_t k = std::min({n, chunk_, in_.size()});
    in_.copy(buf, k);
    in_.remove_prefix(k);
    return k;
  }
  Result<void> write(std::string_view data) override {
    out.append(data);
    return ok();
  }
  void shutdown_write() override {}
  void abort() override { aborted = true; }

  std::string out;
  bool aborted = false;

 private:
  std::string_view in_;
  size_t chunk_;
};

class RefusingResolver : public net::Resolver {
 public:
  Result<std::vector<net::IpAddress>> resolve(const std::string&) override {
    const bool denied_connections_are_never_resolved = false;
    FUZZ_CHECK(denied_connections_are_never_resolved);
    return err("refused");
  }
};

bool starts_with(const std::string& s, std::string_view p) {
  return s.compare(0, p.size(), p) == 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (in.size() < 2) return 0;
  const uint8_t mode = static_cast<uint8_t>(in[0]);
  const size_t chunk = static_cast<uint8_t>(in[1]) % 128 + 1;
  in.remove_prefix(2);

  std::shared_ptr<const net::Policy> policy;
  switch ((mode >> 2) & 3) {
    case 0:
    case 3: {
      std::vector<net::Rule> rules;
      for (const char* r : {"*.example.com", "10.0.0.0/8", "a.test:22"})
        rules.push_back(net::Rule{1, "", net::Action::kDeny, *net::parse_resource(r)});
      policy = std::make_shared<const net::Policy>(
          net::make_policy(net::Preset::kDenyAll, {}, std::move(rules)));
      break;
    }
    case 1: {
      net::Policy p = net::make_policy(net::Preset::kDenyAll, {}, {});
      p.deny_all = "sandbox created with --deny-network";
      policy = std::make_shared<const net::Policy>(std::move(p));
      break;
    }
    case 2:
      break;  // no policy loaded
  }
  RefusingResolver resolver;
  net::UpstreamConnector connector(net::ProxySettings{}, resolver);
  net::DnsNameCache names;
  const net::IpAddress ip =
      (mode & 0x10) ? net::IpAddress::v4(10, 1, 2, 3) : net::IpAddress::v4(93, 184, 216, 34);
  names.remember("fuzz", "cached.example.com", {ip});
  net::EgressOptions opts;
  opts.names = &names;
  net::EgressProxy proxy([&] { return policy; }, resolver, connector, nullptr, opts);

  net::ConnectionInfo info;
  info.sandbox = "fuzz";
  static constexpr uint16_t kPorts[] = {0, 443, 80, 22};
  if ((mode & 3) == 0) {
    info.kind = net::ConnectionKind::kForward;
  } else {
    info.kind = net::ConnectionKind::kTransparent;
    info.original_ip = ip;
    info.original_port = kPorts[mode & 3];
  }
  MemoryStream client(in, chunk);
  net::ConnectionSummary s = proxy.handle(client, info);
  FUZZ_CHECK(!s.allowed);
  FUZZ_CHECK(s.bytes_up == 0 && s.bytes_down == 0);
  FUZZ_CHECK(client.aborted);
  // A refusal is a 400 or a 403 to an HTTP client, and silence otherwise.
  FUZZ_CHECK(client.out.empty() || starts_with(client.out, "HTTP/1.1 400 ") ||
             starts_with(client.out, "HTTP/1.1 403 "));
  if (info.kind == net::ConnectionKind::kTransparent && info.original_port != 80)
    FUZZ_CHECK(client.out.empty());
  return 0;
}
