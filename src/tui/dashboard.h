// `sbx` with no arguments: the live dashboard. Owns the loop that ties the
// model (dashboard_state.h) to the terminal (curses_screen.h) and to the
// daemon: a thread keeps the sandbox list fresh, one follows the network
// log's event stream, one runs the user's commands so the screen never
// waits for a VM to boot.
#pragma once

#include <functional>
#include <string>

#include "base/result.h"
#include "client/api_client.h"
#include "tui/dashboard_state.h"

namespace sbx::tui {

/// What the dashboard asks of its caller (the CLI), which owns sessions and
/// knows how a user's create form becomes a request.
struct DashboardHooks {
  /// Runs an interactive session in `sandbox` on this terminal (the
  /// dashboard has handed it over) and returns when it ends or detaches.
  std::function<void(const std::string& sandbox)> attach;
  /// Turns the create form (Command::kCreate) into a request: resolves the
  /// path, parses the memory size. An error is shown on the status line.
  std::function<Result<proto::CreateRequest>(const Command&)> make_create;
};

/// Runs one daemon command off the UI thread; returns the status line to
/// show. Exposed for tests of each command's effect against a fake daemon.
Result<std::string> run_command(client::ApiClient& api, const Command& c,
                                const DashboardHooks& hooks);

/// The dashboard. `signal_fd` is readable when SIGTERM/SIGINT/SIGHUP arrive
/// (a signalfd the caller made before any thread started); -1 for none.
class Dashboard {
 public:
  Dashboard(client::ApiClient& api, DashboardHooks hooks, int signal_fd, bool colour)
      : api_(api), hooks_(std::move(hooks)), signal_fd_(signal_fd), colour_(colour) {}

  /// Takes over the terminal until `q` or a signal; the terminal is left
  /// as it was found.
  Result<void> run();

 private:
  client::ApiClient& api_;
  DashboardHooks hooks_;
  int signal_fd_;
  bool colour_;
};

}  // namespace sbx::tui
