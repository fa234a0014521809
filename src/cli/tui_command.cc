// `sbx tui` (and `sbx` alone on a terminal): hands the dashboard the
// daemon's client and the two things only the CLI knows how to do, attach a
// session and turn the create form into a checked request.
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "cli/commands.h"
#include "cli/format.h"
#include "cli/signal_watcher.h"
#include "tui/dashboard.h"

namespace sbx::cli {

int Commands::tui() {
  auto& api = daemon();  // starts sandboxd if needed, before the screen
  // Blocked before the dashboard's threads start, so they inherit the
  // mask and the signals reach the signalfd, not a default handler.
  auto sigs = SignalWatcher::watch({SIGTERM, SIGINT, SIGHUP});
  if (!sigs) throw Failure{sigs.error().message};
  tui::DashboardHooks hooks;
  hooks.attach = [this](const std::string& sandbox) {
    RunOpts o;
    o.target = sandbox;
    int rc = guarded([&] { return run(o); });
    if (rc == 125) {
      // The error is on the screen; let it be read before the dashboard
      // paints over it.
      con_.err << "Press enter to return to the dashboard.\n";
      con_.err.flush();
      char ch = 0;
      while (::read(con_.io.in, &ch, 1) == 1 && ch != '\n' && ch != '\r') {
      }
    }
  };
  hooks.make_create = [this](const tui::Command& c) -> Result<proto::CreateRequest> {
    NewSandboxOpts o;
    o.name = c.sandbox;
    o.memory = c.memory;
    try {
      return create_request(c.agent, c.path, o);
    } catch (const Failure& f) {
      return err(f.message);
    }
  };
  const char* no_colour = std::getenv("NO_COLOR");
  tui::Dashboard d(api, std::move(hooks), sigs->fd(), !(no_colour && *no_colour));
  auto r = d.run();
  if (!r) throw Failure{r.error().message};
  return 0;
}

}  // namespace sbx::cli
