#include "net/upstream_override.h"

#include "base/strings.h"
#include "net/hostname.h"
#include "net/http_parser.h"

namespace sbx::net {

Result<UpstreamOverrides> parse_upstream_overrides(const std::string& text) {
  UpstreamOverrides out;
  for (const auto& item : split(text, ',')) {
    if (item.empty()) continue;
    auto eq = item.find('=');
    if (eq == std::string::npos)
      return err("upstream override '" + item + "': want host:port=ip:port");
    auto from = parse_authority(item.substr(0, eq));
    auto to = parse_authority(item.substr(eq + 1));
    if (!from || !to) return err("upstream override '" + item + "': want host:port=ip:port");
    auto host = normalize_host(from->host);
    auto ip = parse_ip(to->host);
    if (!host || !ip) return err("upstream override '" + item + "': bad host or address");
    bool loopback = ip->v6 ? *ip == *parse_ip("::1") : ip->bytes[0] == 127;
    if (!loopback) return err("upstream override '" + item + "': the target must be loopback");
    out[*host + ":" + std::to_string(from->port)] = UpstreamTarget{*ip, to->port};
  }
  return out;
}

}  // namespace sbx::net
