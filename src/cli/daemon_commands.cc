// `sbx version` and `sbx daemon start|stop|status`.
#include <chrono>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "client/daemon_launcher.h"
#include "proto/json_util.h"
#include "sbx_version.h"


namespace sbx::cli {

int Commands::version() {
  con_.out << "Client: sbx " << SBX_VERSION << "\n";
  // Only ask a daemon that is already running: `version` must not start one.
  auto v = client().version(std::chrono::seconds(5));
  if (v)
    con_.out << "Daemon: sandboxd " << v->version << " (api " << v->api << ")\n";
  else
    con_.out << "Daemon: not running\n";
  return 0;
}

int Commands::daemon_start() {
  auto& c = client();
  auto r = client::ensure_daemon(c, paths());
  if (!r) throw Failure{r.error().message};
  daemon_checked_ = true;
  con_.out << (*r ? "sandboxd started\n" : "sandboxd is already running\n");
  return 0;
}

int Commands::daemon_stop() {
  auto& c = client();
  if (auto r = c.shutdown(); !r) {
    if (client::daemon_absent(r.error())) {
      con_.out << "sandboxd is not running\n";
      return 0;
    }
    throw Failure{r.error().message};
  }
  // Wait until the process has exited (its lock is free), not just until the
  // socket stops answering: the listener closes first, published ports and
  // agent links after it, and a caller may rely on all of them being gone.
  if (client::wait_daemon_exited(paths(), std::chrono::seconds(30))) {
    con_.out << "sandboxd stopped\n";
    return 0;
  }
  throw Failure{"sandboxd accepted the shutdown request but is still running after 30 s; see " +
                paths().daemon_log()};
}

int Commands::daemon_status(bool json) {
  auto& c = client();
  auto v = c.version(std::chrono::seconds(5));
  if (json) {
    nlohmann::json j = {{"running", static_cast<bool>(v)}, {"socket", c.socket_path()}};
    if (v) {
      j["version"] = v->version;
      j["api"] = v->api;
    } else {
      j["error"] = v.error().message;
    }
    con_.out << proto::dump_json(j, 2) << "\n";
  } else if (v) {
    con_.out << "sandboxd is running (version " << v->version << ", socket " << c.socket_path()
             << ")\n";
  } else {
    con_.out << "sandboxd is not running (" << v.error().message << ")\n";
  }
  return v ? 0 : 1;
}

}  // namespace sbx::cli
