// sbx-agent: the guest's /init (PID 1) and the agent-link server.
//   sbx-agent                  as PID 1: boot the guest, serve the port
//   sbx-agent --serve-fd N     test mode: serve the link on inherited fd N
//   sbx-agent --serve-socket P test mode: connect to unix socket P, serve it
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "agent/guest_init.h"
#include "agent/link_server.h"
#include "base/strings.h"

namespace {

constexpr const char* kUsage =
    "usage: sbx-agent                   (as PID 1 in the guest)\n"
    "       sbx-agent --serve-fd N      serve the agent link on fd N (test mode)\n"
    "       sbx-agent --serve-socket P  connect to unix socket P and serve it\n"
    "       sbx-agent --version\n";

int serve_test_mode(sbx::Fd link, const sbx::agent::Console& console) {
  sbx::agent::LinkOptions opts;
  opts.exit_on_eof = true;
  sbx::agent::LinkServer server(std::move(link), console, opts);
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
  sbx::agent::LinkServer server(std::move(*port), console, opts);
  auto r = server.run();
  if (!r) init.fatal("link server: " + r.error().message);
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
    puts("sbx-agent 0.1.0");
    return 0;
  }
  if (a == "--help" || a == "-h") {
    fputs(kUsage, stdout);
    return 0;
  }
  if (argc == 3 && a == "--serve-fd") {
    auto n = sbx::parse_uint(argv[2]);
    if (!n || *n > 1 << 20) {
      fprintf(stderr, "sbx-agent: --serve-fd: bad fd '%s'\n", argv[2]);
      return 2;
    }
    return serve_test_mode(sbx::Fd(static_cast<int>(*n)), console);
  }
  if (argc == 3 && a == "--serve-socket") {
    auto fd = sbx::unix_connect(argv[2]);
    if (!fd) {
      fprintf(stderr, "sbx-agent: %s\n", fd.error().message.c_str());
      return 1;
    }
    return serve_test_mode(std::move(*fd), console);
  }
  fputs(kUsage, stderr);
  return 2;
}
