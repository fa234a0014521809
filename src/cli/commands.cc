#include "cli/commands.h"

#include <chrono>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "base/files.h"
#include "base/strings.h"
#include "cli/arguments.h"
#include "cli/copy.h"
#include "cli/format.h"
#include "cli/slow_note.h"
#include "cli/terminal.h"
#include "client/daemon_launcher.h"
#include "kit/kit_parser.h"
#include "proto/json_util.h"

namespace sbx::cli {

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

client::ApiClient& Commands::daemon() {
  auto& c = client();
  if (!daemon_checked_) {
    auto r = client::ensure_daemon(c, paths());
    if (!r) throw Failure{r.error().message};
    daemon_checked_ = true;
  }
  return c;
}

client::ApiClient& Commands::client() {
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

std::string explain(const Error& e, const std::string& sandbox) {
  if (e.code == kNotFound && !sandbox.empty())
    return "sandbox '" + sandbox + "' not found. Run 'sbx ls' to see your sandboxes.";
  return e.message;
}

bool Commands::colour() { return use_colour(is_terminal(con_.io.out), std::getenv("NO_COLOR")); }

bool Commands::confirmed(const std::string& question, bool force, const std::string& flag_hint) {
  if (force) return true;
  if (!is_terminal(con_.io.in))
    throw Failure{"refusing without confirmation: stdin is not a terminal. " + flag_hint};
  con_.out.flush();
  return confirm(con_.io.in, con_.err, question + " [y/N] ");
}

proto::CreateRequest Commands::create_request(const std::string& agent, const std::string& path,
                                              const NewSandboxOpts& o) {
  // Everything that can be checked here is, before the daemon is involved.
  proto::CreateRequest req;
  std::string ws_path = path;
  if (!o.kit_dir.empty()) {
    // A user's kit: read and checked here so its mistakes show at once,
    // with their file and line; the daemon reads it again to build it.
    kit::KitSources bytes;
    auto k = kit::load_kit_dir(o.kit_dir, &bytes);
    if (!k) throw Failure{"the kit in '" + o.kit_dir + "' is not valid:\n" + k.error().message};
    if (!agent.empty() && agent != k->name) {
      // `sbx create --kit ./k .`: the one positional is the workspace.
      if (!path.empty())
        throw Failure{"with --kit the agent is the kit's, '" + k->name + "', not '" + agent +
                      "'; leave AGENT out: sbx create --kit " + o.kit_dir + " " + path};
      ws_path = agent;
    }
    // sandboxd gets the bytes checked here, not the path: it keeps its own
    // copy, so later edits of the directory do not change this sandbox.
    req.agent = k->name;
    req.kit = proto::KitBundle{std::move(bytes.yaml), std::move(bytes.files)};
  } else {
    if (agent.empty())
      throw Failure{"missing AGENT: sbx create [OPTIONS] AGENT [PATH] (agents: " +
                    join(known_agents(), ", ") + "), or --kit DIR for your own"};
    if (auto r = check_agent(agent); !r) throw Failure{r.error().message};
    req.agent = agent;
  }
  req.host_config = !o.no_host_config;
  if (!o.memory.empty()) {
    auto m = parse_memory(o.memory);
    if (!m) throw Failure{m.error().message};
    req.memory_bytes = *m;
  }
  if (o.cpus < 0)
    throw Failure{"invalid --cpus " + std::to_string(o.cpus) + ": use 0 (auto) or more"};
  req.cpus = o.cpus;
  req.deny_network = o.deny_network;
  req.template_tag = o.template_tag;
  req.host_ca = !o.no_host_ca;
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
  auto ws = resolve_workspace(ws_path.empty() ? "." : ws_path);
  if (!ws) throw Failure{ws.error().message};
  req.workspace = *ws;
  if (!o.name.empty())
    if (auto r = proto::validate_sandbox_name(o.name); !r) throw Failure{r.error().message};
  req.name = o.name;
  return req;
}

proto::SandboxInfo Commands::create_sandbox(const std::string& agent, const std::string& path,
                                            const NewSandboxOpts& o, bool allow_existing,
                                            bool* existed) {
  proto::CreateRequest req = create_request(agent, path, o);
  auto& c = daemon();
  if (allow_existing) {
    // `sbx run shell .` twice reattaches to the same sandbox, as Docker's does.
    std::string n = o.name.empty() ? proto::default_sandbox_name(req.agent, req.workspace) : o.name;
    if (auto s = c.get(n); s && s->workspace == req.workspace && s->agent == req.agent) {
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
  // Build stages (a first run builds the agent's template) reach this
  // terminal as the daemon reports them.
  auto s = c.create(req, [&](const std::string& line) {
    note.reset();
    con_.err << line << "\n";
    con_.err.flush();
  });
  note.reset();
  return check(std::move(s));
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

int Commands::stop(const std::vector<std::string>& names) {
  auto& c = daemon();
  int rc = 0;
  for (auto& n : names) {
    if (auto r = c.stop(n)) {
      con_.out << n << "\n";
    } else {
      con_.err << format_error(explain(r.error(), n));
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
    auto r = c.remove(n, force);
    if (r) {
      con_.out << n << "\n";
      continue;
    }
    std::string msg = explain(r.error(), n);
    // The daemon may already say what to do; add the hint only if not.
    if (r.error().code == kConflict && !force &&
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
      if (removed.error().code == kNotFound && c.get(o.sandbox))
        throw Failure{"no published port of sandbox '" + o.sandbox + "' matches '" +
                      o.unpublish[i] + "'. Run 'sbx ports " + o.sandbox + "' to see them."};
      check(std::move(removed), o.sandbox);
    }
    if (!o.json)
      for (auto& p : *removed) con_.out << format_unpublished(p);
  }
  for (auto& p : pub) {
    auto bound = check(c.publish(o.sandbox, p), o.sandbox);
    if (!o.json) con_.out << format_published(bound);
  }
  if (o.json) {
    // The list as it stands after any change: what a script wants to read.
    auto list = check(c.ports(o.sandbox), o.sandbox);
    auto j = nlohmann::json::parse(proto::to_json(list));
    con_.out << proto::dump_json(j["ports"], 2) << "\n";
  } else if (pub.empty() && unpub.empty()) {
    con_.out << format_port_table(check(c.ports(o.sandbox), o.sandbox));
  }
  return 0;
}

int Commands::reset(bool force, bool preserve_secrets) {
  auto& c = daemon();
  auto list = check(c.list());
  std::string n = std::to_string(list.size());
  if (!confirmed("This removes all " + n + " sandboxes and their disks. Continue?", force,
                 "Use 'sbx reset -f' to reset without asking.")) {
    con_.err << "Cancelled.\n";
    return 1;
  }
  auto removed = check(c.reset());
  for (auto& name : removed) con_.out << "Removed sandbox '" << name << "'\n";
  con_.out << "Removed " << removed.size() << (removed.size() == 1 ? " sandbox\n" : " sandboxes\n");
  if (!preserve_secrets) {
    check(c.request("POST", "/v1/secrets/reset", "{}", std::chrono::seconds(10)));
    con_.out << "Removed all stored secrets (keep them with 'sbx reset --preserve-secrets')\n";
  }
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
  auto r = check(c.prune(dry_run));
  if (json)
    con_.out << proto::dump_json(nlohmann::json::parse(proto::to_json(r)), 2) << "\n";
  else
    con_.out << format_prune(r);
  return 0;
}

int Commands::inspect(const std::string& name, bool json) {
  auto& c = daemon();
  if (json) {
    con_.out << check(c.get_json(name), name) << "\n";
    return 0;
  }
  con_.out << format_inspect(check(c.get(name), name), colour());
  return 0;
}

int Commands::cp(const std::string& src, const std::string& dst) {
  auto spec = parse_copy_args(src, dst);
  if (!spec) throw Failure{spec.error().message};
  auto& c = daemon();
  if (auto r = run_copy(c, *spec, con_.io.err); !r) {
    if (r.error().code == kNotFound) throw Failure{explain(r.error(), spec->sandbox)};
    throw Failure{r.error().message};
  }
  return 0;
}

}  // namespace sbx::cli

