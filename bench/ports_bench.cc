// Published-port cost. The ratio compares two paths measured by the same
// client, curl on the host (native), timed by curl:
//   published  host -> published port -> agent link -> python3 http.server
//              in the guest (serving from the guest's own disk);
//   loopback   host loopback -> the same server software on the host.
// The ratio therefore includes the server running in the guest (under TCG
// when that is the accelerator); the output says so. For scale, curl in the
// guest against the guest's server over the guest's loopback is printed too,
// with no ratio against the host's client. Every request is checked (HTTP
// 200, exact size); any failure exits 1.
#include <cstdio>
#include <string>

#include "bench_util.h"

namespace t = sbx::testing;
namespace b = sbx::bench;
using sbx::Result;

namespace {

constexpr int kRequests = 100;
constexpr uint16_t kGuestPort = 8000;

Result<void> run(const b::Options& o, const b::Machine& m) {
  b::HttpFiles files;
  t::SbxEnv env;
  std::string ws = env.make_workspace("ports-bench");
  auto c = t::sbx({"create", "--name", "bench", "--memory", "1g", "--cpus", "2", "shell", ws});
  if (c.code != 0) return sbx::err("sbx create: " + c.all());
  auto accel = b::running_accel(env);
  if (!accel) return accel.error();
  if (*accel != m.accel) return sbx::err("the sandbox runs on " + *accel + ", expected " + m.accel);
  if (auto s = b::start_guest_http_server("bench", kGuestPort, files); !s)
    return s.error().wrap("guest server");
  auto pub = t::sbx({"ports", "bench", "--publish", std::to_string(kGuestPort)});
  uint16_t port = t::published_port(pub.out);
  if (pub.code != 0 || port == 0) return sbx::err("sbx ports --publish: " + pub.all());
  auto host_server = b::HostHttpServer::start(files);
  if (!host_server) return host_server.error().wrap("host server");

  t::CurlSite host{"", {"--noproxy", "*"}};
  t::CurlSite guest{"bench", {"--noproxy", "*"}};
  std::string published_url = "http://127.0.0.1:" + std::to_string(port);
  std::string guest_url = "http://127.0.0.1:" + std::to_string(kGuestPort);
  b::HttpSeries published, loopback, guest_lo;
  // Interleaved, so a burst of load on this shared machine hits every path.
  for (int i = 0; i < o.runs; ++i) {
    struct Step {
      const char* name;
      const t::CurlSite& site;
      std::string url;
      b::HttpSeries& out;
    } steps[] = {{"published port", host, published_url, published},
                 {"host loopback", host, host_server->url(), loopback},
                 {"guest loopback", guest, guest_url, guest_lo}};
    for (auto& s : steps) {
      auto r = b::curl_http_run(s.site, s.url, files, kRequests);
      if (!r) return r.error().wrap(std::string(s.name) + ", run " + std::to_string(i + 1));
      s.out.add(*r);
    }
  }

  printf(
      "ports_bench: python3 http.server, %llu MiB /big once + %d GETs of /small per run, "
      "%d runs; median [min-max]\n",
      static_cast<unsigned long long>(files.big_bytes >> 20), kRequests, o.runs);
  b::print_machine(m);
  printf("\nclient: curl on the host (native), timed by curl\n");
  b::print_http_header();
  b::print_http_row("host -> published port -> guest server", published);
  b::print_http_row("host loopback -> host server", loopback);
  b::print_http_ratio("published / host loopback:", published, loopback);
  printf("(the ratio includes the server itself running in the guest under %s)\n", m.accel.c_str());
  printf("\nclient: curl in the guest (%s), timed by curl; for scale, no ratio\n", m.accel.c_str());
  b::print_http_header();
  b::print_http_row("guest loopback -> guest server", guest_lo);
  return sbx::ok();
}

}  // namespace

int main(int argc, char** argv) {
  auto o = b::parse_options(argc, argv, "published-port cost: host curl, published vs loopback");
  if (!o) return fprintf(stderr, "%s\n", o.error().message.c_str()), 2;
  auto m = b::describe_machine();
  if (!m) return fprintf(stderr, "ports_bench: %s\n", m.error().message.c_str()), 1;
  auto r = run(*o, *m);
  if (!r) return fprintf(stderr, "ports_bench: FAILED: %s\n", r.error().message.c_str()), 1;
  return 0;
}
