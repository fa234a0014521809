// sbx-agent: the guest's /init (PID 1) and the agent-link server.
//   sbx-agent                  as PID 1: boot the guest, serve the port
//   sbx-agent --serve-fd N     test mode: serve the link on inherited fd N
//   sbx-agent --serve-socket P test mode: connect to unix socket P, serve it
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

#include "agent/docker_supervisor.h"
#include "agent/egress.h"
#include "agent/guest_init.h"
#include "agent/link_server.h"
#include "base/strings.h"
#include "sbx_version.h"

namespace {

constexpr const char* kUsage =
    "usage: sbx-agent                   (as PID 1 in the guest)\n"
    "       sbx-agent --serve-fd N      serve the agent link on fd N (test mode)\n"
    "       sbx-agent --serve-socket P  connect to unix socket P and serve it\n"
    "         test-mode options: --dockerd PATH --docker-sock PATH [--docker-log PATH]\n"
    "                            [--docker-socket-activation]  supervise a (fake) dockerd\n"
    "                            --egress-proxy|--egress-transparent|--egress-dns IP:PORT\n"
    "                            egress listeners (port 0: ephemeral, see HELLO_ACK)\n"
    "       sbx-agent --version\n";

int serve_test_mode(sbx::Fd link, const sbx::agent::Console& console,
                    const std::optional<sbx::agent::DockerOptions>& docker_opts,
                    sbx::agent::EgressConfig egress) {
  sbx::agent::LinkOptions opts;
  opts.exit_on_eof = true;
  // No netfilter here: a test connecting to the transparent port plays the
  // part of a redirected connection.
  egress.redirect = !egress.transparent.empty();
  opts.egress = sbx::agent::open_egress(egress, console);
  opts.spawner.login_env = sbx::agent::proxy_env(opts.egress.proxy_url());
  std::unique_ptr<sbx::agent::DockerSupervisor> docker;
  if (docker_opts) {
    docker = std::make_unique<sbx::agent::DockerSupervisor>(console, *docker_opts);
    docker->start();
    opts.docker = docker.get();
  }
  sbx::agent::LinkServer server(std::move(link), console, std::move(opts));
  auto r = server.run();
  if (!r) {
    console.log("error: " + r.error().message);
    return 1;
  }
  return 0;  // EOF or shutdown: both end test mode cleanly
}

[[noreturn]] void run_pid1(const sbx::agent::Console& console) {
  sbx::agent::GuestInit init(console);
  auto port = init.boot();
  if (!port) init.fatal(port.error().message);
  sbx::agent::LinkOptions opts;
  opts.exit_on_eof = false;
  opts.pid1 = true;
  // Before dockerd starts: it gets the proxy, and its containers' DNS
  // (redirected to the stub) must find the socket bound.
  auto egress_cfg = sbx::agent::EgressConfig::pid1_defaults();
  egress_cfg.redirect = init.egress_redirect();
  opts.egress = sbx::agent::open_egress(egress_cfg, console);
  const std::string proxy = opts.egress.proxy_url();
  if (!proxy.empty()) {
    sbx::agent::write_proxy_files(console, proxy);
    opts.spawner.login_env = sbx::agent::proxy_env(proxy);
  }
  if (opts.egress.dns.valid()) sbx::agent::write_resolv_conf(console);
  std::unique_ptr<sbx::agent::DockerSupervisor> docker;
  if (init.docker()) {
    // Boot mode starts dockerd now and it initialises while the link is
    // already served; socket mode only listens.
    sbx::agent::DockerOptions d = *init.docker();
    if (d.proxy.empty()) d.proxy = proxy;  // an explicit sbx.proxy wins
    docker = std::make_unique<sbx::agent::DockerSupervisor>(console, d);
    docker->start();
    opts.docker = docker.get();
  }
  sbx::agent::LinkServer server(std::move(*port), console, std::move(opts));
  auto r = server.run();
  if (!r) init.fatal("link server: " + r.error().message);
  // dockerd first: it stops its containers (--shutdown-timeout 3) before
  // the general SIGTERM sweep would hit them in random order.
  if (docker) docker->stop(std::chrono::seconds(5));
  init.shutdown();
}

}  // namespace

int main(int argc, char** argv) {
  sbx::agent::Console console;
  if (argc == 1) {
    if (getpid() == 1) run_pid1(console);
    fputs(kUsage, stderr);
    return 2;
  }
  std::string a = argv[1];
  if (a == "--version") {
    puts("sbx-agent " SBX_VERSION);
    return 0;
  }
  if (a == "--help" || a == "-h") {
    fputs(kUsage, stdout);
    return 0;
  }
  if (argc >= 3 && (a == "--serve-fd" || a == "--serve-socket")) {
    std::optional<sbx::agent::DockerOptions> docker;
    std::string dockerd, sock, log = "/dev/null";
    bool socket_activation = false;
    sbx::agent::EgressConfig egress;
    for (int i = 3; i < argc; ++i) {
      std::string o = argv[i];
      bool has_value = i + 1 < argc;
      if (o == "--dockerd" && has_value) {
        dockerd = argv[++i];
      } else if (o == "--docker-sock" && has_value) {
        sock = argv[++i];
      } else if (o == "--docker-log" && has_value) {
        log = argv[++i];
      } else if (o == "--egress-proxy" && has_value) {
        egress.proxy = argv[++i];
      } else if (o == "--egress-transparent" && has_value) {
        egress.transparent = argv[++i];
      } else if (o == "--egress-dns" && has_value) {
        egress.dns = argv[++i];
      } else if (o == "--docker-socket-activation") {
        socket_activation = true;
      } else {
        fputs(kUsage, stderr);
        return 2;
      }
    }
    if (!dockerd.empty() || !sock.empty()) {
      if (dockerd.empty() || sock.empty()) {
        fputs("sbx-agent: --dockerd and --docker-sock go together\n", stderr);
        return 2;
      }
      sbx::agent::DockerOptions d;
      d.dockerd = dockerd;
      d.socket_path = sock;
      d.log_path = log;
      d.socket_activation = socket_activation;
      d.backoff = std::chrono::milliseconds(100);  // keeps restart tests short
      docker = d;
    }
    if (a == "--serve-fd") {
      auto n = sbx::parse_uint(argv[2]);
      if (!n || *n > 1 << 20) {
        fprintf(stderr, "sbx-agent: --serve-fd: bad fd '%s'\n", argv[2]);
        return 2;
      }
      return serve_test_mode(sbx::Fd(static_cast<int>(*n)), console, docker, egress);
    }
    auto fd = sbx::unix_connect(argv[2]);
    if (!fd) {
      fprintf(stderr, "sbx-agent: %s\n", fd.error().message.c_str());
      return 1;
    }
    return serve_test_mode(std::move(*fd), console, docker, egress);
  }
  fputs(kUsage, stderr);
  return 2;
}
