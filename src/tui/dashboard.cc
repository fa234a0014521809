#include "tui/dashboard.h"

#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "tui/curses_screen.h"
#include "tui/dashboard_view.h"

namespace sbx::tui {

namespace {

using namespace std::chrono_literals;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// State shared by the UI thread and the workers.
struct Shared {
  std::mutex mu;
  std::condition_variable cv;
  DashboardState state;
  std::deque<Command> queue;  ///< commands for the worker
  bool stop = false;
  bool refresh = false;  ///< the list poller should not wait out its second
};

void poll_sandboxes(Shared& sh, const std::string& socket) {
  client::ApiClient api(socket);
  std::unique_lock lk(sh.mu);
  while (!sh.stop) {
    lk.unlock();
    auto list = api.list();
    lk.lock();
    if (list)
      sh.state.set_sandboxes(std::move(*list));
    else
      sh.state.set_status("cannot list sandboxes: " + list.error().message, true);
    sh.cv.wait_for(lk, 1s, [&] { return sh.stop || sh.refresh; });
    sh.refresh = false;
  }
}

void follow_network(Shared& sh, const std::string& socket) {
  client::ApiClient api(socket);
  auto stopping = [&] {
    std::lock_guard lk(sh.mu);
    return sh.stop;
  };
  // The recent past first, oldest first so the newest ends on top.
  if (auto recent = api.network_log({"", 200, false})) {
    std::lock_guard lk(sh.mu);
    for (auto it = recent->rbegin(); it != recent->rend(); ++it) sh.state.add_entry(*it);
  }
  while (!stopping()) {
    auto r = api.follow_network_log(
        "",
        [&](const proto::NetworkLogEntry& e) {
          std::lock_guard lk(sh.mu);
          sh.state.add_entry(e);
          return !sh.stop;
        },
        [&] { return !stopping(); });
    if (stopping()) break;
    // The daemon went away or restarted: try again shortly.
    std::unique_lock lk(sh.mu);
    if (!r) sh.state.set_status("network stream: " + r.error().message, true);
    sh.cv.wait_for(lk, 2s, [&] { return sh.stop; });
  }
}

void run_commands(Shared& sh, const std::string& socket, const DashboardHooks& hooks) {
  client::ApiClient api(socket);
  std::unique_lock lk(sh.mu);
  while (true) {
    sh.cv.wait(lk, [&] { return sh.stop || !sh.queue.empty(); });
    if (sh.stop) return;
    Command c = std::move(sh.queue.front());
    sh.queue.pop_front();
    lk.unlock();
    auto r = run_command(api, c, hooks);
    lk.lock();
    if (r)
      sh.state.set_status(*r);
    else
      sh.state.set_status(r.error().message, true);
    sh.refresh = true;
    sh.cv.notify_all();
  }
}

/// What a queued command is doing, for the status line meanwhile.
std::string doing(const Command& c) {
  switch (c.kind) {
    case Command::kStop:
      return "Stopping " + c.sandbox + "...";
    case Command::kRestart:
      return "Restarting " + c.sandbox + "...";
    case Command::kDelete:
      return "Deleting " + c.sandbox + "...";
    case Command::kPublish:
      return "Publishing " + c.spec + " of " + c.sandbox + "...";
    case Command::kCreate:
      return "Creating a " + c.agent + " sandbox (the first of an agent builds its template)...";
    case Command::kAllow:
    case Command::kBlock:
      return "Updating the policy...";
    default:
      return "";
  }
}

}  // namespace

Result<std::string> run_command(client::ApiClient& api, const Command& c,
                                const DashboardHooks& hooks) {
  auto fail = [&](const Error& e, const std::string& what) -> Result<std::string> {
    return err(what + ": " + e.message);
  };
  switch (c.kind) {
    case Command::kStop:
      if (auto r = api.stop(c.sandbox); !r) return fail(r.error(), "stop " + c.sandbox);
      return "Stopped " + c.sandbox;
    case Command::kRestart:
      if (auto r = api.stop(c.sandbox); !r) return fail(r.error(), "restart " + c.sandbox);
      if (auto r = api.start(c.sandbox); !r) return fail(r.error(), "restart " + c.sandbox);
      return "Restarted " + c.sandbox;
    case Command::kDelete:
      // The user confirmed: a running sandbox is stopped first.
      if (auto r = api.remove(c.sandbox, true); !r) return fail(r.error(), "delete " + c.sandbox);
      return "Deleted " + c.sandbox;
    case Command::kPublish: {
      auto spec = proto::parse_port_spec(c.spec);
      if (!spec) return fail(spec.error(), "publish");
      auto p = api.publish(c.sandbox, *spec);
      if (!p) return fail(p.error(), "publish " + c.spec);
      return "Published " + proto::format_port(*p) + " of " + c.sandbox;
    }
    case Command::kCreate: {
      if (!hooks.make_create) return err("create: not available here");
      auto req = hooks.make_create(c);
      if (!req) return fail(req.error(), "create");
      auto s = api.create(*req, [](const std::string&) {});
      if (!s) return fail(s.error(), "create");
      return "Created " + s->name + " (enter attaches)";
    }
    case Command::kAllow:
    case Command::kBlock: {
      bool allow = c.kind == Command::kAllow;
      auto r = api.add_policy_rules({allow ? "allow" : "deny", c.sandbox, c.host});
      if (!r) return fail(r.error(), allow ? "allow" : "block");
      return std::string(allow ? "Allowed " : "Blocked ") + c.host +
             (c.sandbox.empty() ? " globally" : " for " + c.sandbox);
    }
    default:
      return std::string();
  }
}

Result<void> Dashboard::run() {
  auto screen = CursesScreen::open(colour_);
  if (!screen) return screen.error();
  Shared sh;
  // Joined (after stop is set) before `sh` goes: declared after it.
  struct Workers {
    Shared& sh;
    std::vector<std::thread> threads;
    ~Workers() {
      {
        std::lock_guard lk(sh.mu);
        sh.stop = true;
      }
      sh.cv.notify_all();
      for (auto& t : threads) t.join();
    }
  } workers{sh, {}};
  const std::string socket = api_.socket_path();
  workers.threads.emplace_back(poll_sandboxes, std::ref(sh), socket);
  workers.threads.emplace_back(follow_network, std::ref(sh), socket);
  workers.threads.emplace_back(run_commands, std::ref(sh), socket, std::cref(hooks_));

  while (true) {
    {
      auto [rows, cols] = (*screen)->size();
      std::lock_guard lk(sh.mu);
      (*screen)->draw(render(sh.state, rows, cols, now_ms()));
    }
    pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {signal_fd_, POLLIN, 0}};
    int n = ::poll(fds, signal_fd_ >= 0 ? 2 : 1, 250);
    if (n > 0 && signal_fd_ >= 0 && (fds[1].revents & POLLIN)) return ok();  // SIGTERM & co.
    for (int key; (key = (*screen)->read_key()) != -1;) {
      if (key == CursesScreen::kResize) continue;  // the next draw uses the new size
      Command c;
      {
        std::lock_guard lk(sh.mu);
        c = sh.state.handle_key(key);
        if (c.kind != Command::kNone && c.kind != Command::kQuit && c.kind != Command::kAttach) {
          sh.state.set_status(doing(c));
          sh.queue.push_back(c);
          sh.cv.notify_all();
        }
      }
      if (c.kind == Command::kQuit) return ok();
      if (c.kind == Command::kAttach && hooks_.attach) {
        (*screen)->suspend();
        hooks_.attach(c.sandbox);
        (*screen)->resume();
        std::lock_guard lk(sh.mu);
        sh.state.set_status("Back from " + c.sandbox);
        sh.refresh = true;
        sh.cv.notify_all();
      }
    }
  }
}

}  // namespace sbx::tui
