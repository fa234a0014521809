#include "harness/apt_mirror.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include "image/apt_sources.h"

namespace sbx::testing {

std::string host_apt_mirror() {
  auto srcs = image::read_apt_sources();
  if (!srcs) return "";
  for (auto& s : image::filter_debian_sources(*srcs, "bookworm"))
    for (auto& uri : s.uris) {
      auto p = uri.find("://");
      if (p == std::string::npos) continue;
      std::string rest = uri.substr(p + 3);
      return rest.substr(0, rest.find_first_of("/:"));
    }
  return "";
}

std::string host_apt_mirror_ipv4() {
  std::string host = host_apt_mirror();
  if (host.empty()) return "";
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), "80", &hints, &res) != 0 || !res) return "";
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_addr, buf, sizeof buf);
  freeaddrinfo(res);
  return buf;
}

}  // namespace sbx::testing
