#include "cli/commands.h"

#include <signal.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/strings.h"
#include "cli/arguments.h"
#include "cli/copy.h"
#include "cli/daemon_launcher.h"
#include "cli/format.h"
#include "cli/signal_watcher.h"
#include "cli/terminal.h"

#ifndef SBX_VERSION
#define SBX_VERSION "0.0.0-dev"
#endif

namespace sbx::cli {

namespace {

std::string join_agents() { return join(known_agents(), ", "); }

/// Prints a note on stderr if an operation takes longer than `delay`
/// (a first create builds the template, which takes minutes).
class SlowNote {
 public:
  SlowNote(std::ostream& err, std::string note, std::chrono::milliseconds delay)
      : thread_([this, &err, note = std::move(note), delay] {
          std::unique_lock lock(mu_);
          if (!cv_.wait_for(lock, delay, [this] { return done_; })) {
            err << note << "\n";
            err.flush();
          }
        }) {}
  SlowNote(const SlowNote&) = delete;
  SlowNote& operator=(const SlowNote&) = delete;
  ~SlowNote() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace

std::vector<std::string> agent_command(const std::string& agent,
                                       const std::vector<std::string>& agent_args) {
  // Only the shell agent exists so far; other agents will name their CLI here.
  (void)agent;
  std::vector<std::string> argv = {"bash", "-l"};
  argv.insert(argv.end(), agent_args.begin(), agent_args.end());
  return argv;
}

int Commands::guarded(const std::function<int()>& body) {
  try {
    return body();
  } catch (const Failure& f) {
    con_.out.flush();
    con_.err << format_error(f.message);
    con_.err.flush();
    return kExitFailure;
  } catch (const std::exception& e) {
    // Libraries (JSON, CLI11, allocation) may still throw: report, not abort.
    con_.err << format_error(std::string("internal error: ") + e.what());
    return kExitFailure;
  }
}

ApiClient& Commands::daemon() {
  auto& c = client();
  if (!daemon_checked_) {
    auto r = ensure_daemon(c, paths());
    if (!r) throw Failure{r.error().message};
    daemon_checked_ = true;
  }
  return c;
}

ApiClient& Commands::client() {
  if (!client_) client_.emplace(paths().socket());
  return *client_;
}

const Paths& Commands::paths() {
  if (!paths_) {
    auto p = Paths::from_environment();
    if (!p) throw Failure{p.error().message};
    paths_ = std::move(*p);
  }
  return *paths_;
}

namespace {
// Phrases the last API failure about `sandbox` for the user.
std::string explain(const ApiClient& c, const std::string& sandbox) {
  auto& f = c.last_failure();
  if (f.http_status == 404 && !sandbox.empty())
    return "sandbox '" + sandbox + "' not found. Run 'sbx ls' to see your sandboxes.";
  return f.message;
}

template <class T>
T check(Result<T> r, const ApiClient& c, const std::string& sandbox = "") {
  if (!r) throw Failure{explain(c, sandbox)};
  if constexpr (!std::is_void_v<T>) return std::move(*r);
}
}  // namespace

bool Commands::colour() { return use_colour(is_terminal(con_.io.out), std::getenv("NO_COLOR")); }

bool Commands::confirmed(const std::string& question, bool force, const std::string& flag_hint) {
  if (force) return true;
  if (!is_terminal(con_.io.in))
    throw Failure{"refusing without confirmation: stdin is not a terminal. " + flag_hint};
  con_.out.flush();
  return confirm(con_.io.in, con_.err, question + " [y/N] ");
}

proto::SandboxInfo Commands::create_sandbox(const std::string& agent, const std::string& path,
                                            const NewSandboxOpts& o, bool allow_existing,
                                            bool* existed) {
  // Everything that can be checked here is, before the daemon is involved.
  if (auto r = check_agent(agent); !r) throw Failure{r.error().message};
  proto::CreateRequest req;
  req.agent = agent;
  if (!o.memory.empty()) {
    auto m = parse_memory(o.memory);
    if (!m) throw Failure{m.error().message};
    req.memory_bytes = *m;
  }
  if (o.cpus < 0)
    throw Failure{"invalid --cpus " + std::to_string(o.cpus) + ": use 0 (auto) or more"};
  req.cpus = o.cpus;
  req.deny_network = o.deny_network;
  if (!o.docker_size.empty()) {
    auto d = parse_size(o.docker_size);
    if (!d || *d == 0)
      throw Failure{"invalid --docker-size '" + o.docker_size + "': use e.g. 20g"};
    req.docker_bytes = *d;
  }
  for (auto& spec : o.publish) {
    auto p = proto::parse_port_spec(spec);
    if (!p) throw Failure{p.error().message};
    req.ports.push_back(*p);
  }
  auto ws = resolve_workspace(path.empty() ? "." : path);
  if (!ws) throw Failure{ws.error().message};
  req.workspace = *ws;
  if (!o.name.empty())
    if (auto r = proto::validate_sandbox_name(o.name); !r) throw Failure{r.error().message};
  req.name = o.name;

  auto& c = daemon();
  if (allow_existing) {
    // `sbx run shell .` twice reattaches to the same sandbox, as Docker's does.
    std::string n = o.name.empty() ? proto::default_sandbox_name(agent, *ws) : o.name;
    if (auto s = c.get(n); s && s->workspace == *ws && s->agent == agent) {
      if (existed) *existed = true;
      return *s;
    }
  }
  if (existed) *existed = false;
  std::optional<SlowNote> note;
  note.emplace(con_.err,
               "Preparing sandbox (first run builds the template, this can take a few "
               "minutes)...",
               std::chrono::seconds(2));
  auto s = c.create(req);
  note.reset();
  return check(std::move(s), c);
}

int Commands::create(const CreateOpts& o) {
  bool existed = false;
  auto s = create_sandbox(o.agent, o.path, o.sandbox, false, &existed);
  if (o.quiet)
    con_.out << s.name << "\n";
  else
    con_.out << format_created(s, colour());
  return 0;
}

int Commands::ls(bool json, bool quiet) {
  auto& c = daemon();
  if (json) {
    con_.out << check(c.list_json(), c) << "\n";
    return 0;
  }
  auto list = check(c.list(), c);
  if (quiet) {
    for (auto& s : list) con_.out << s.name << "\n";
    return 0;
  }
  con_.out << format_sandbox_table(list);
  return 0;
}

int Commands::stream(const std::string& sandbox, const proto::ExecRequest& req,
                     bool interactive, bool raw_terminal) {
  auto& c = daemon();
  con_.out.flush();
  con_.err.flush();
  std::optional<SlowNote> note;
  // The daemon boots a stopped sandbox before answering: say why we wait.
  note.emplace(con_.err, "Waiting for sandbox '" + sandbox + "' to start...",
               std::chrono::seconds(2));
  auto st = c.exec(sandbox, req);
  note.reset();
  if (!st) {
    auto& f = c.last_failure();
    if (f.exit_code == 126 || f.exit_code == 127) {
      con_.err << format_error(f.message);
      return f.exit_code;
    }
    throw Failure{explain(c, sandbox)};
  }
  if (req.detach || !st->fd) {
    // Detached: the daemon started the command; nothing to stream.
    return 0;
  }
  // Signals are watched before raw mode so none slips through between.
  auto sigs = SignalWatcher::watch({SIGWINCH, SIGINT, SIGTERM, SIGHUP, SIGQUIT});
  if (!sigs) throw Failure{sigs.error().message};
  std::optional<RawTerminal> raw;
  if (raw_terminal) {
    auto r = RawTerminal::enter(con_.io.in);
    if (!r) throw Failure{"cannot put the terminal in raw mode: " + r.error().message};
    raw.emplace(std::move(*r));
  }
  ExecSessionOptions so;
  so.forward_stdin = interactive;
  so.tty_fd = req.tty ? (is_terminal(con_.io.out) ? con_.io.out : con_.io.in) : -1;
  so.signals = &*sigs;
  ExecSession session(std::move(*st), con_.io, so);
  auto code = session.run();
  raw.reset();  // restore the terminal before printing anything
  if (!code) throw Failure{code.error().message};
  return *code;
}

int Commands::exec(ExecOpts o) {
  if (o.command.empty())
    throw Failure{"missing command: sbx exec [OPTIONS] SANDBOX [--] COMMAND [ARG...]"};
  if (auto r = check_workdir(o.workdir); !r) throw Failure{r.error().message};
  proto::ExecRequest req;
  for (auto& f : o.env_files) {
    auto e = read_env_file(f);
    if (!e) throw Failure{e.error().message};
    req.env.insert(req.env.end(), e->begin(), e->end());
  }
  for (auto& spec : o.env) {
    auto e = parse_env_flag(spec);
    if (!e) throw Failure{e.error().message};
    req.env.insert(req.env.end(), e->begin(), e->end());
  }
  req.argv = o.command;
  req.cwd = o.workdir;
  req.user = o.user;
  req.detach = o.detach;
  if (o.detach) {
    o.interactive = false;
    o.tty = false;
  }
  bool raw = false;
  if (o.tty) {
    if (o.interactive && !is_terminal(con_.io.in))
      throw Failure{"the input device is not a TTY; drop -t or run from a terminal"};
    req.tty = true;
    raw = o.interactive;
    int size_fd = is_terminal(con_.io.out) ? con_.io.out : con_.io.in;
    if (auto ws = window_size(size_fd)) {
      req.rows = ws->first;
      req.cols = ws->second;
    }
    const char* term = std::getenv("TERM");
    req.env.insert(req.env.begin(), std::string("TERM=") + (term && *term ? term : "xterm"));
  }
  return stream(o.sandbox, req, o.interactive, raw);
}

void Commands::wait_for_docker(const std::string& name) {
  // The agent starts dockerd at boot; a session that would find it not yet
  // answering waits here instead, and says why. Errors (no sandboxd route,
  // a stopped sandbox) just skip the wait: the session matters more.
  auto& c = daemon();
  auto st = c.docker_state(name);
  if (!st || *st != "starting") return;
  con_.out << "INFO: Starting Docker daemon\n";
  con_.out.flush();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    st = c.docker_state(name);
    if (!st || *st != "starting") break;
  }
  if (st && *st == "failed")
    con_.err << "WARNING: the sandbox's Docker daemon failed to start; see /var/log/dockerd.log in the sandbox\n";
}

int Commands::attach(const proto::SandboxInfo& s, const RunOpts& o) {
  con_.out << "Starting " << s.agent << " agent in sandbox '" << s.name << "'...\n";
  con_.out << "Workspace: " << (s.workspace.empty() ? "(none)" : s.workspace) << "\n";
  wait_for_docker(s.name);
  ExecOpts e;
  e.sandbox = s.name;
  e.interactive = true;
  // Like `docker run -it`, but still usable from a pipe (e.g. in scripts):
  // without a terminal there is no raw mode and no guest PTY.
  e.tty = is_terminal(con_.io.in);
  e.env = o.env;
  e.env_files = o.env_files;
  e.workdir = s.workspace;
  e.command = agent_command(s.agent, o.agent_args);
  int rc = exec(e);
  if (o.remove) {
    // The session is over whatever its outcome: --rm means the sandbox goes.
    auto& c = daemon();
    if (!c.remove(s.name, true)) {
      con_.err << format_error("removing sandbox '" + s.name + "': " + explain(c, s.name));
      return rc == 0 ? kExitFailure : rc;
    }
  }
  return rc;
}

int Commands::run(const RunOpts& o) {
  if (o.detach && o.remove) throw Failure{"--rm and -d cannot be used together"};
  if (o.detach && !o.agent_args.empty())
    throw Failure{"agent arguments after '--' need a session; drop -d"};
  if (o.paths.size() > 1)
    throw Failure{"only one workspace PATH is supported so far (got " +
                  std::to_string(o.paths.size()) + ")"};
  // Validated before any request, so a typo never half-runs.
  for (auto& f : o.env_files)
    if (auto e = read_env_file(f); !e) throw Failure{e.error().message};
  for (auto& spec : o.env)
    if (auto e = parse_env_flag(spec); !e) throw Failure{e.error().message};
  std::vector<proto::PortMapping> extra_ports;
  for (auto& spec : o.sandbox.publish) {
    auto p = proto::parse_port_spec(spec);
    if (!p) throw Failure{p.error().message};
    extra_ports.push_back(*p);
  }
  std::string path = o.paths.empty() ? "" : o.paths[0];
  auto& c = daemon();
  const auto& ns = o.sandbox;
  bool new_sandbox_flags = !path.empty() || !ns.name.empty() || !ns.memory.empty() ||
                           ns.cpus != 0 || !ns.docker_size.empty();
  std::optional<proto::SandboxInfo> found;
  if (!new_sandbox_flags) {
    // `sbx run NAME` attaches to an existing sandbox when there is one.
    if (auto s = c.get(o.target)) {
      found = *s;
      // A sandbox's network mode is fixed when it is created: say so
      // rather than attach to one that can reach the network.
      if (ns.deny_network && !s->deny_network)
        throw Failure{"sandbox '" + o.target +
                      "' already exists and has network access; --deny-network applies "
                      "when a sandbox is created (remove it with 'sbx rm " + o.target +
                      "' and run again, or use 'sbx policy deny network --sandbox " +
                      o.target + " ...')"};
    } else {
      if (c.last_failure().http_status != 404) throw Failure{c.last_failure().message};
      if (!is_known_agent(o.target))
        throw Failure{"sandbox '" + o.target + "' not found and '" + o.target +
                      "' is not an agent. Run 'sbx ls' to see your sandboxes; agents: " +
                      join_agents()};
    }
  }
  bool existed = true;
  proto::SandboxInfo s;
  if (found) {
    s = *found;
  } else {
    s = create_sandbox(o.target, path, ns, true, &existed);
    if (!existed) con_.out << format_created(s, colour()) << "\n";
  }
  if (existed) {
    // An existing sandbox may be stopped; -p applies to it too.
    if (o.detach || !extra_ports.empty()) s = check(c.start(s.name), c, s.name);
    for (auto& p : extra_ports)
      con_.out << format_published(check(c.publish(s.name, p), c, s.name));
  }
  if (o.detach) {
    if (existed) con_.out << s.name << "\n";
    return 0;
  }
  return attach(s, o);
}

int Commands::stop(const std::vector<std::string>& names) {
  auto& c = daemon();
  int rc = 0;
  for (auto& n : names) {
    if (c.stop(n)) {
      con_.out << n << "\n";
    } else {
      con_.err << format_error(explain(c, n));
      rc = kExitFailure;
    }
  }
  return rc;
}

int Commands::rm(const std::vector<std::string>& given, bool force, bool all) {
  auto& c = daemon();
  std::vector<std::string> names = given;
  if (all) {
    for (auto& s : check(c.list(), c)) names.push_back(s.name);
  } else if (names.empty()) {
    throw Failure{"sbx rm needs at least one SANDBOX, or --all"};
  }
  int rc = 0;
  for (auto& n : names) {
    if (c.remove(n, force)) {
      con_.out << n << "\n";
      continue;
    }
    std::string msg = explain(c, n);
    // The daemon may already say what to do; add the hint only if not.
    if (c.last_failure().http_status == 409 && !force &&
        msg.find("sbx stop") == std::string::npos)
      msg += ". Stop it first with 'sbx stop " + n + "', or use 'sbx rm -f " + n + "'.";
    con_.err << format_error(msg);
    rc = kExitFailure;
  }
  return rc;
}

int Commands::ports(const PortsOpts& o) {
  // Every spec is checked before anything changes.
  std::vector<proto::PortMapping> pub, unpub;
  for (auto& spec : o.publish) {
    auto p = proto::parse_port_spec(spec);
    if (!p) throw Failure{p.error().message};
    pub.push_back(*p);
  }
  for (auto& spec : o.unpublish) {
    auto p = proto::parse_unpublish_spec(spec);
    if (!p) throw Failure{p.error().message};
    unpub.push_back(*p);
  }
  auto& c = daemon();
  for (size_t i = 0; i < unpub.size(); ++i) {
    auto removed = c.unpublish(o.sandbox, unpub[i]);
    if (!removed) {
      // 404 means either no such sandbox or no such mapping: tell which.
      if (c.last_failure().http_status == 404 && c.get(o.sandbox))
        throw Failure{"no published port of sandbox '" + o.sandbox + "' matches '" +
                      o.unpublish[i] + "'. Run 'sbx ports " + o.sandbox + "' to see them."};
      check(std::move(removed), c, o.sandbox);
    }
    if (!o.json)
      for (auto& p : *removed) con_.out << format_unpublished(p);
  }
  for (auto& p : pub) {
    auto bound = check(c.publish(o.sandbox, p), c, o.sandbox);
    if (!o.json) con_.out << format_published(bound);
  }
  if (o.json) {
    // The list as it stands after any change: what a script wants to read.
    auto list = check(c.ports(o.sandbox), c, o.sandbox);
    auto j = nlohmann::json::parse(proto::to_json(list));
    con_.out << j["ports"].dump(2) << "\n";
  } else if (pub.empty() && unpub.empty()) {
    con_.out << format_port_table(check(c.ports(o.sandbox), c, o.sandbox));
  }
  return 0;
}

int Commands::reset(bool force) {
  auto& c = daemon();
  auto list = check(c.list(), c);
  std::string n = std::to_string(list.size());
  if (!confirmed("This removes all " + n + " sandboxes and their disks. Continue?", force,
                 "Use 'sbx reset -f' to reset without asking.")) {
    con_.err << "Cancelled.\n";
    return 1;
  }
  auto removed = check(c.reset(), c);
  for (auto& name : removed) con_.out << "Removed sandbox '" << name << "'\n";
  con_.out << "Removed " << removed.size() << (removed.size() == 1 ? " sandbox\n" : " sandboxes\n");
  return 0;
}

int Commands::prune(bool dry_run, bool force, bool json) {
  auto& c = daemon();
  if (!dry_run &&
      !confirmed("This removes all stopped sandboxes and the cached images no sandbox uses. "
                 "Continue?",
                 force, "Use 'sbx prune -f' to prune without asking, or --dry-run to look.")) {
    con_.err << "Cancelled.\n";
    return 1;
  }
  auto r = check(c.prune(dry_run), c);
  if (json)
    con_.out << nlohmann::json::parse(proto::to_json(r)).dump(2) << "\n";
  else
    con_.out << format_prune(r);
  return 0;
}

int Commands::inspect(const std::string& name, bool json) {
  auto& c = daemon();
  if (json) {
    con_.out << check(c.get_json(name), c, name) << "\n";
    return 0;
  }
  con_.out << format_inspect(check(c.get(name), c, name), colour());
  return 0;
}

int Commands::cp(const std::string& src, const std::string& dst) {
  auto spec = parse_copy_args(src, dst);
  if (!spec) throw Failure{spec.error().message};
  auto& c = daemon();
  if (auto r = run_copy(c, *spec, con_.io.err); !r) {
    if (c.last_failure().http_status == 404) throw Failure{explain(c, spec->sandbox)};
    throw Failure{r.error().message};
  }
  return 0;
}

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
  auto r = ensure_daemon(c, paths());
  if (!r) throw Failure{r.error().message};
  daemon_checked_ = true;
  con_.out << (*r ? "sandboxd started\n" : "sandboxd is already running\n");
  return 0;
}

int Commands::daemon_stop() {
  auto& c = client();
  if (!c.shutdown()) {
    if (c.daemon_absent()) {
      con_.out << "sandboxd is not running\n";
      return 0;
    }
    throw Failure{c.last_failure().message};
  }
  // Wait until the process has exited (its lock is free), not just until the
  // socket stops answering: the listener closes first, published ports and
  // agent links after it, and a caller may rely on all of them being gone.
  if (wait_daemon_exited(paths(), std::chrono::seconds(30))) {
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
      j["error"] = c.last_failure().message;
    }
    con_.out << j.dump(2) << "\n";
  } else if (v) {
    con_.out << "sandboxd is running (version " << v->version << ", socket "
             << c.socket_path() << ")\n";
  } else {
    con_.out << "sandboxd is not running (" << c.last_failure().message << ")\n";
  }
  return v ? 0 : 1;
}

}  // namespace sbx::cli
