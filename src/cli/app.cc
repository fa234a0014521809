#include "cli/app.h"

#include <signal.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "base/paths.h"
#include "cli/api_client.h"
#include "cli/arguments.h"
#include "cli/daemon_launcher.h"
#include "cli/format.h"
#include "cli/signal_watcher.h"
#include "cli/terminal.h"
#include "proto/api.h"

#ifndef SBX_VERSION
#define SBX_VERSION "0.0.0-dev"
#endif

namespace sbx::cli {

namespace {

std::string join_agents() {
  std::string out;
  for (auto& a : known_agents()) out += (out.empty() ? "" : ", ") + a;
  return out;
}

// A failure already phrased for the user; becomes "Error: ..." and 125.
struct Failure {
  std::string message;
};

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

struct CreateOpts {
  std::string name;
  std::string memory;
  int cpus = 0;
  bool quiet = false;
  std::string agent;
  std::string path;
};

struct ExecOpts {
  bool interactive = false;
  bool tty = false;
  bool detach = false;
  std::vector<std::string> env;
  std::vector<std::string> env_files;
  std::string workdir;
  std::string user;
  std::string sandbox;
  std::vector<std::string> command;
};

struct RunOpts {
  std::string target;
  std::string path;
  std::string name;
  std::string memory;
  int cpus = 0;
  std::vector<std::string> env;
  bool detach = false;
};

class Commands {
 public:
  explicit Commands(Console& con) : con_(con) {}

  int create(const CreateOpts& o);
  int ls(bool json, bool quiet);
  int exec(ExecOpts o);
  int run(const RunOpts& o);
  int stop(const std::vector<std::string>& names);
  int rm(const std::vector<std::string>& names, bool force, bool all);
  int version();
  int daemon_start();
  int daemon_stop();
  int daemon_status(bool json);

  /// Runs a command body, turning a Failure into "Error: ..." and 125.
  int guarded(const std::function<int()>& body) {
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

 private:
  // The client, with the daemon started if needed.
  ApiClient& daemon() {
    auto& c = client();
    if (!daemon_checked_) {
      auto r = ensure_daemon(c, paths());
      if (!r) throw Failure{r.error().message};
      daemon_checked_ = true;
    }
    return c;
  }
  // The client without auto-start (version, daemon status/stop).
  ApiClient& client() {
    if (!client_) client_.emplace(paths().socket());
    return *client_;
  }
  const Paths& paths() {
    if (!paths_) {
      auto p = Paths::from_environment();
      if (!p) throw Failure{p.error().message};
      paths_ = std::move(*p);
    }
    return *paths_;
  }
  // Phrases the last API failure about `sandbox` for the user.
  std::string explain(const ApiClient& c, const std::string& sandbox) {
    auto& f = c.last_failure();
    if (f.http_status == 404 && !sandbox.empty())
      return "sandbox '" + sandbox + "' not found. Run 'sbx ls' to see your sandboxes.";
    return f.message;
  }
  template <class T>
  T check(Result<T> r, const std::string& sandbox = "") {
    if (!r) throw Failure{explain(client(), sandbox)};
    return std::move(*r);
  }
  bool colour() { return use_colour(is_terminal(con_.io.out), std::getenv("NO_COLOR")); }

  proto::SandboxInfo create_sandbox(const std::string& agent, const std::string& path,
                                    const std::string& name, const std::string& memory,
                                    int cpus, bool allow_existing, bool* existed);
  int attach(const proto::SandboxInfo& s, const std::vector<std::string>& env);
  int stream(const std::string& sandbox, const proto::ExecRequest& req, bool interactive,
             bool raw_terminal);

  Console& con_;
  std::optional<Paths> paths_;
  std::optional<ApiClient> client_;
  bool daemon_checked_ = false;
};

proto::SandboxInfo Commands::create_sandbox(const std::string& agent,
                                            const std::string& path,
                                            const std::string& name,
                                            const std::string& memory, int cpus,
                                            bool allow_existing, bool* existed) {
  // Everything that can be checked here is, before the daemon is involved.
  if (auto r = check_agent(agent); !r) throw Failure{r.error().message};
  proto::CreateRequest req;
  req.agent = agent;
  if (!memory.empty()) {
    auto m = parse_memory(memory);
    if (!m) throw Failure{m.error().message};
    req.memory_bytes = *m;
  }
  if (cpus < 0) throw Failure{"invalid --cpus " + std::to_string(cpus) + ": use 0 (auto) or more"};
  req.cpus = cpus;
  auto ws = resolve_workspace(path.empty() ? "." : path);
  if (!ws) throw Failure{ws.error().message};
  req.workspace = *ws;
  if (!name.empty())
    if (auto r = proto::validate_sandbox_name(name); !r) throw Failure{r.error().message};
  req.name = name;

  auto& c = daemon();
  if (allow_existing) {
    // `sbx run shell .` twice reattaches to the same sandbox, as Docker's does.
    std::string n = name.empty() ? proto::default_sandbox_name(agent, *ws) : name;
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
  return check(std::move(s));
}

int Commands::create(const CreateOpts& o) {
  bool existed = false;
  auto s = create_sandbox(o.agent, o.path, o.name, o.memory, o.cpus, false, &existed);
  if (o.quiet)
    con_.out << s.name << "\n";
  else
    con_.out << format_created(s, colour());
  return 0;
}

int Commands::ls(bool json, bool quiet) {
  auto& c = daemon();
  if (json) {
    con_.out << check(c.list_json()) << "\n";
    return 0;
  }
  auto list = check(c.list());
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

int Commands::attach(const proto::SandboxInfo& s, const std::vector<std::string>& env) {
  con_.out << "Starting " << s.agent << " agent in sandbox '" << s.name << "'...\n";
  con_.out << "Workspace: " << s.workspace << "\n";
  ExecOpts o;
  o.sandbox = s.name;
  o.interactive = true;
  // Like `docker run -it`, but still usable from a pipe (e.g. in scripts).
  o.tty = is_terminal(con_.io.in);
  o.env = env;
  o.workdir = s.workspace;
  o.command = {"bash", "-l"};
  return exec(o);
}

int Commands::run(const RunOpts& o) {
  auto& c = daemon();
  if (o.path.empty() && o.name.empty() && o.memory.empty() && o.cpus == 0) {
    // `sbx run NAME` attaches to an existing sandbox when there is one.
    if (auto s = c.get(o.target)) {
      if (o.detach) {
        check(c.start(s->name), s->name);
        con_.out << s->name << "\n";
        return 0;
      }
      return attach(*s, o.env);
    }
    if (c.last_failure().http_status != 404) throw Failure{c.last_failure().message};
    if (!is_known_agent(o.target))
      throw Failure{"sandbox '" + o.target + "' not found and '" + o.target +
                    "' is not an agent. Run 'sbx ls' to see your sandboxes; agents: " +
                    join_agents()};
  }
  bool existed = false;
  auto s = create_sandbox(o.target, o.path, o.name, o.memory, o.cpus, true, &existed);
  if (!existed) con_.out << format_created(s, colour()) << "\n";
  if (o.detach) {
    if (existed) check(c.start(s.name), s.name);
    return 0;
  }
  return attach(s, o.env);
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
    for (auto& s : check(c.list())) names.push_back(s.name);
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
  // Wait until the socket stops answering, so a following `daemon start`
  // does not race the exiting daemon.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!c.version(std::chrono::seconds(1)) && c.last_failure().http_status == 0) {
      con_.out << "sandboxd stopped\n";
      return 0;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  throw Failure{"sandboxd accepted the shutdown request but is still answering after 30 s"};
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

}  // namespace

int run_cli(int argc, const char* const* argv, Console& con) {
  Commands cmds(con);
  // CLI11 does not hand back what follows "--" once all positionals are
  // filled, so split it off first: it is the command for exec.
  std::vector<std::string> args;
  std::vector<std::string> after_dashes;
  bool dashes = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (!dashes && a == "--") {
      dashes = true;
      continue;
    }
    (dashes ? after_dashes : args).push_back(std::move(a));
  }
  CLI::App app{"sbx: run AI coding agents in microVM sandboxes"};
  app.name("sbx");
  app.require_subcommand(0, 1);
  app.footer("Examples:\n  sbx run shell .\n  sbx ls\n  sbx exec -it shell-myproject bash");
  std::function<int()> action;

  CreateOpts co;
  auto* create = app.add_subcommand("create", "Create a sandbox for an agent");
  create->add_option("--name", co.name, "Sandbox name (default: AGENT-DIRNAME)");
  create->add_option("-m,--memory", co.memory, "Memory, e.g. 4g (default: half the host, 512m-32g)");
  create->add_option("--cpus", co.cpus, "vCPUs (0: all host cores)");
  create->add_flag("-q,--quiet", co.quiet, "Print only the sandbox name");
  create->add_option("AGENT", co.agent, "Agent to run: shell")->required();
  create->add_option("PATH", co.path, "Workspace directory (default: .)");
  create->footer("Example:\n  sbx create --name dev -m 8g shell ~/src/project");
  create->callback([&] { action = [&] { return cmds.create(co); }; });

  bool ls_json = false, ls_quiet = false;
  auto* ls = app.add_subcommand("ls", "List sandboxes");
  ls->alias("list");
  ls->add_flag("--json", ls_json, "Print the list as JSON");
  ls->add_flag("-q,--quiet", ls_quiet, "Print only sandbox names");
  ls->footer("Example:\n  sbx ls --json");
  ls->callback([&] { action = [&] { return cmds.ls(ls_json, ls_quiet); }; });

  ExecOpts eo;
  auto* exec = app.add_subcommand("exec", "Run a command in a sandbox (starts it if stopped)");
  exec->add_flag("-i,--interactive", eo.interactive, "Keep stdin open and forward it");
  exec->add_flag("-t,--tty", eo.tty, "Allocate a pseudo-terminal");
  exec->add_flag("-d,--detach", eo.detach, "Run the command in the background");
  exec->add_option("-e,--env", eo.env, "Set an environment variable (K=V, or K to copy ours)");
  exec->add_option("--env-file", eo.env_files, "Read environment variables from a file");
  exec->add_option("-w,--workdir", eo.workdir, "Working directory inside the sandbox (absolute)");
  exec->add_option("-u,--user", eo.user, "User to run as (default: the sandbox's user)");
  exec->add_option("SANDBOX", eo.sandbox, "Sandbox name")->required();
  // Everything after SANDBOX is the command, its own flags included.
  exec->prefix_command();
  exec->footer("Example:\n  sbx exec -it shell-myproject bash\n  sbx exec shell-myproject -- ls -la /");
  exec->callback([&] {
    eo.command = exec->remaining();
    eo.command.insert(eo.command.end(), after_dashes.begin(), after_dashes.end());
    action = [&] { return cmds.exec(eo); };
  });

  RunOpts ro;
  auto* run = app.add_subcommand("run", "Attach to a sandbox, or create one for AGENT and attach");
  run->add_option("--name", ro.name, "Name for a new sandbox (default: AGENT-DIRNAME)");
  run->add_option("-m,--memory", ro.memory, "Memory for a new sandbox, e.g. 4g");
  run->add_option("--cpus", ro.cpus, "vCPUs for a new sandbox (0: all host cores)");
  run->add_option("-e,--env", ro.env, "Set an environment variable for the shell");
  run->add_flag("-d,--detach", ro.detach, "Create and start, but do not attach");
  run->add_option("SANDBOX_OR_AGENT", ro.target, "An existing sandbox, or an agent: shell")
      ->required();
  run->add_option("PATH", ro.path, "Workspace for a new sandbox (default: .)");
  run->footer("Example:\n  sbx run shell ~/src/project\n  sbx run shell-project");
  run->callback([&] { action = [&] { return cmds.run(ro); }; });

  std::vector<std::string> stop_names;
  auto* stop = app.add_subcommand("stop", "Stop sandboxes (their disks are kept)");
  stop->add_option("SANDBOX", stop_names, "Sandbox names")->required();
  stop->footer("Example:\n  sbx stop shell-myproject");
  stop->callback([&] { action = [&] { return cmds.stop(stop_names); }; });

  std::vector<std::string> rm_names;
  bool rm_force = false, rm_all = false;
  auto* rm = app.add_subcommand("rm", "Remove sandboxes and their disks");
  rm->add_flag("-f,--force", rm_force, "Stop running sandboxes first");
  rm->add_flag("--all", rm_all, "Remove every sandbox");
  rm->add_option("SANDBOX", rm_names, "Sandbox names");
  rm->footer("Example:\n  sbx rm -f shell-myproject");
  rm->callback([&] { action = [&] { return cmds.rm(rm_names, rm_force, rm_all); }; });

  auto* version = app.add_subcommand("version", "Show the client and daemon versions");
  version->footer("Example:\n  sbx version");
  version->callback([&] { action = [&] { return cmds.version(); }; });

  bool status_json = false;
  auto* daemon = app.add_subcommand("daemon", "Manage sandboxd, the per-user daemon");
  daemon->require_subcommand(1);
  daemon->footer("Example:\n  sbx daemon status --json");
  auto* dstart = daemon->add_subcommand("start", "Start sandboxd if it is not running");
  dstart->footer("Example:\n  sbx daemon start");
  dstart->callback([&] { action = [&] { return cmds.daemon_start(); }; });
  auto* dstop = daemon->add_subcommand("stop", "Stop sandboxd (running sandboxes stop too)");
  dstop->footer("Example:\n  sbx daemon stop");
  dstop->callback([&] { action = [&] { return cmds.daemon_stop(); }; });
  auto* dstatus = daemon->add_subcommand("status", "Tell whether sandboxd is running (exit 1 if not)");
  dstatus->add_flag("--json", status_json, "Print the status as JSON");
  dstatus->footer("Example:\n  sbx daemon status");
  dstatus->callback([&] { action = [&] { return cmds.daemon_status(status_json); }; });

  try {
    // Only exec takes a command after "--" (agent arguments for run: later).
    if (dashes && !(!args.empty() && args[0] == "exec"))
      throw CLI::ExtrasError(after_dashes.empty() ? std::vector<std::string>{"--"} : after_dashes);
    // CLI11 wants the arguments in reverse order.
    std::vector<std::string> rev(args.rbegin(), args.rend());
    app.parse(rev);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e, con.out, con.err);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e, con.out, con.err);
  } catch (const CLI::ParseError& e) {
    con.err << format_error(e.what());
    con.err << "Run 'sbx --help' for usage.\n";
    return kExitFailure;
  }
  if (!action) {
    // The dashboard (TUI) is not there yet: show what there is instead.
    con.out << app.help();
    return 0;
  }
  int rc = cmds.guarded(action);
  con.out.flush();
  con.err.flush();
  return rc;
}

}  // namespace sbx::cli
