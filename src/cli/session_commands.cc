// `sbx exec` and `sbx run`: sessions streamed over the exec upgrade.
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "base/strings.h"
#include "cli/arguments.h"
#include "cli/commands.h"
#include "cli/exec_session.h"
#include "cli/format.h"
#include "cli/signal_watcher.h"
#include "cli/slow_note.h"
#include "cli/terminal.h"

namespace sbx::cli {

namespace {
std::string join_agents() { return join(known_agents(), ", "); }
}  // namespace

int Commands::stream(const std::string& sandbox, const proto::ExecRequest& req, bool interactive,
                     bool raw_terminal) {
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
    const Error& e = st.error();
    if (e.exit_code == 126 || e.exit_code == 127) {
      con_.err << format_error(e.message);
      return e.exit_code;
    }
    throw Failure{explain(e, sandbox)};
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
    con_.err << "WARNING: the sandbox's Docker daemon failed to start; see /var/log/dockerd.log in "
                "the sandbox\n";
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
  // An agent's kit names its entry command and environment (the daemon
  // says which); the session's own -e flags come after, so they win.
  if (s.entry.empty()) {
    e.command = agent_command(s.agent, o.agent_args);
  } else {
    e.command = s.entry;
    e.command.insert(e.command.end(), o.agent_args.begin(), o.agent_args.end());
    e.env.insert(e.env.begin(), s.entry_env.begin(), s.entry_env.end());
  }
  int rc = exec(e);
  if (o.remove) {
    // The session is over whatever its outcome: --rm means the sandbox goes.
    auto& c = daemon();
    if (auto r = c.remove(s.name, true); !r) {
      con_.err << format_error("removing sandbox '" + s.name + "': " + explain(r.error(), s.name));
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
  if (o.target.empty() && ns.kit_dir.empty())
    throw Failure{"missing SANDBOX_OR_AGENT: sbx run [OPTIONS] SANDBOX|AGENT [PATH], or --kit DIR"};
  bool new_sandbox_flags = !path.empty() || !ns.name.empty() || !ns.memory.empty() ||
                           ns.cpus != 0 || !ns.docker_size.empty() || !ns.kit_dir.empty();
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
                      "when a sandbox is created (remove it with 'sbx rm " +
                      o.target + "' and run again, or use 'sbx policy deny network --sandbox " +
                      o.target + " ...')"};
    } else {
      if (s.error().code != kNotFound) throw Failure{s.error().message};
      if (!check_agent(o.target))
        throw Failure{
            "sandbox '" + o.target + "' not found and '" + o.target +
            "' is not an agent. Run 'sbx ls' to see your sandboxes; agents: " + join_agents()};
    }
  }
  bool existed = true;
  proto::SandboxInfo s;
  if (found) {
    s = *found;
  } else {
    try {
      s = create_sandbox(o.target, path, ns, true, &existed);
    } catch (const Failure& f) {
      // `sbx run NAME` with a NAME that is neither: say both.
      if (path.empty() && f.message.find("unknown agent") != std::string::npos)
        throw Failure{"sandbox '" + o.target + "' not found and " + f.message +
                      ". Run 'sbx ls' to see your sandboxes."};
      throw;
    }
    if (!existed) con_.out << format_created(s, colour()) << "\n";
  }
  if (existed) {
    // An existing sandbox may be stopped; -p applies to it too.
    if (o.detach || !extra_ports.empty()) s = check(c.start(s.name), s.name);
    for (auto& p : extra_ports) con_.out << format_published(check(c.publish(s.name, p), s.name));
  }
  if (o.detach) {
    if (existed) con_.out << s.name << "\n";
    return 0;
  }
  return attach(s, o);
}

}  // namespace sbx::cli
