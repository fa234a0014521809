#include "cli/app.h"

#include <CLI/CLI.hpp>
#include <functional>

#include "cli/arguments.h"
#include "cli/commands.h"
#include "cli/completion.h"
#include "cli/format.h"
#include "cli/kit_commands.h"
#include "cli/secret_commands.h"
#include "cli/template_commands.h"
#include "cli/terminal.h"
#include "cli/template_load_command.h"

namespace sbx::cli {

namespace {

// A repeatable option takes one value per use (-e A=1 -e B=2). CLI11 lets a
// vector option take every following word that is not a flag, so
// `sbx exec -e K=V SANDBOX CMD` handed SANDBOX and CMD to -e.
CLI::Option* one_value_each(CLI::Option* o) { return o->allow_extra_args(false); }

// Flags every command that makes a sandbox takes (create, run).
void add_new_sandbox_flags(CLI::App* cmd, NewSandboxOpts& o) {
  cmd->add_option("--name", o.name, "Sandbox name (default: AGENT-DIRNAME)");
  cmd->add_option("-m,--memory", o.memory, "Memory, e.g. 4g (default: half the host, 512m-32g)");
  cmd->add_option("--cpus", o.cpus, "vCPUs (0: all host cores)");
  one_value_each(
      cmd->add_option("-p,--publish", o.publish,
                      "Publish a sandbox port: [[HOST_IP:]HOST_PORT:]SANDBOX_PORT[/tcp]"));
  cmd->add_option("--docker-size", o.docker_size,
                  "Size of the private Docker volume, e.g. 20g (default: 10g)");
  cmd->add_flag("--deny-network", o.deny_network,
                "No network at all: every connection and DNS lookup is denied, whatever the "
                "policy rules say");
  cmd->add_option("--kit", o.kit_dir,
                  "Run the agent a kit directory defines (its kit.yaml); AGENT may then be left "
                  "out");
  cmd->add_flag("--no-host-config", o.no_host_config,
                "Do not copy the agent's settings from your home (e.g. ~/.claude/settings.json)");
  cmd->add_option("-t,--template", o.template_tag,
                  "Boot from this template (see 'sbx template ls'); default: the agent's own");
  cmd->add_flag("--no-host-ca", o.no_host_ca,
                "Do not add the host's trusted CA certificates to the sandbox's trust store");
}

// The completion model, read off the CLI11 tree so it never drifts from it.
CompletionCommand describe(CLI::App* app) {
  CompletionCommand c;
  c.name = app->get_name();
  c.help = app->get_description();
  for (const CLI::Option* opt : app->get_options()) {
    if (opt->get_positional()) {
      const std::string& n = opt->get_name();
      if (n.find("SANDBOX") != std::string::npos || n == "SRC" || n == "DST")
        c.takes_sandbox = true;
      if (n.find("AGENT") != std::string::npos)
        c.words.insert(c.words.end(), known_agents().begin(), known_agents().end());
      if (n == "PATH" || n == "SRC" || n == "DST") c.takes_path = true;
      if (n == "SHELL")
        c.words.insert(c.words.end(), completion_shells().begin(), completion_shells().end());
      continue;
    }
    CompletionFlag f;
    for (auto& s : opt->get_snames()) f.names.push_back("-" + s);
    for (auto& l : opt->get_lnames()) f.names.push_back("--" + l);
    f.takes_value = opt->get_expected_min() > 0 && opt->get_type_size() > 0;
    f.help = opt->get_description();
    c.flags.push_back(std::move(f));
  }
  for (CLI::App* sub : app->get_subcommands([](CLI::App*) { return true; }))
    c.subcommands.push_back(describe(sub));
  return c;
}

}  // namespace

int run_cli(int argc, const char* const* argv, Console& con) {
  Commands cmds(con);
  // CLI11 does not hand back what follows "--" once all positionals are
  // filled, so split it off first: the command for exec, the agent's
  // arguments for run.
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
  app.footer(
      "Examples:\n  sbx secret set -g anthropic          # your API key, kept on the host\n"
      "  sbx run claude .                     # Claude Code on this directory\n"
      "  sbx run shell .\n  sbx ls\n  sbx exec -it shell-myproject bash");
  std::function<int()> action;

  CreateOpts co;
  auto* create = app.add_subcommand("create", "Create a sandbox for an agent");
  add_new_sandbox_flags(create, co.sandbox);
  create->add_flag("-q,--quiet", co.quiet, "Print only the sandbox name");
  // Not required by CLI11: with --kit the kit names the agent.
  create->add_option("AGENT", co.agent,
                     "Agent to run: shell, claude, codex, gemini, copilot, opencode (sbx kit ls); "
                     "leave out with --kit");
  create->add_option("PATH", co.path, "Workspace directory (default: .)");
  create->footer(
      "Examples:\n  sbx create --name dev -m 8g -p 8080:5000 shell ~/src/project\n"
      "  sbx create --deny-network --name offline shell .   # no egress at all\n"
      "  sbx create --kit ./my-kit .                        # an agent of your own");
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
  one_value_each(
      exec->add_option("-e,--env", eo.env, "Set an environment variable (K=V, or K to copy ours)"));
  one_value_each(
      exec->add_option("--env-file", eo.env_files, "Read environment variables from a file"));
  exec->add_option("-w,--workdir", eo.workdir, "Working directory inside the sandbox (absolute)");
  exec->add_option("-u,--user", eo.user, "User to run as (default: the sandbox's user)");
  exec->add_option("SANDBOX", eo.sandbox, "Sandbox name")->required();
  // Everything after SANDBOX is the command, its own flags included.
  exec->prefix_command();
  exec->footer(
      "Example:\n  sbx exec -it shell-myproject bash\n  sbx exec shell-myproject -- ls -la /");
  exec->callback([&] {
    eo.command = exec->remaining();
    eo.command.insert(eo.command.end(), after_dashes.begin(), after_dashes.end());
    action = [&] { return cmds.exec(eo); };
  });

  RunOpts ro;
  auto* run = app.add_subcommand(
      "run", "Attach to a sandbox's agent on a terminal, creating and starting it if needed");
  add_new_sandbox_flags(run, ro.sandbox);
  one_value_each(
      run->add_option("-e,--env", ro.env, "Set an environment variable for the session"));
  one_value_each(
      run->add_option("--env-file", ro.env_files, "Read environment variables from a file"));
  run->add_flag("-d,--detach", ro.detach, "Create and start, but do not attach");
  run->add_flag("--rm", ro.remove, "Remove the sandbox when the session ends");
  // Not required by CLI11: with --kit the kit names the agent.
  run->add_option("SANDBOX_OR_AGENT", ro.target,
                  "An existing sandbox, or an agent: shell, claude, codex, gemini, copilot, "
                  "opencode (sbx kit ls)");
  run->add_option("PATH", ro.paths, "Workspace for a new sandbox (default: .)");
  run->footer(
      "Arguments after '--' go to the agent (for shell: bash -l ARGS).\n"
      "Examples:\n  sbx run shell ~/src/project\n  sbx run shell-project\n"
      "  sbx run --rm shell . -- -c 'make test'\n"
      "  sbx run --deny-network shell .      # a new sandbox with no network\n"
      "  sbx run --kit ./my-kit .            # an agent of your own (see 'sbx kit')");
  run->callback([&] {
    ro.agent_args = after_dashes;
    action = [&] { return cmds.run(ro); };
  });

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

  PortsOpts po;
  auto* ports = app.add_subcommand("ports", "List, publish or unpublish a sandbox's ports");
  one_value_each(ports->add_option(
      "--publish", po.publish,
      "Publish: [[HOST_IP:]HOST_PORT:]SANDBOX_PORT[/tcp] (host port 0 or none: any free)"));
  one_value_each(ports->add_option("--unpublish", po.unpublish,
                                   "Unpublish: HOST_PORT or [HOST_IP:]HOST_PORT:SANDBOX_PORT"));
  ports->add_flag("--json", po.json, "Print the ports as JSON (after any change)");
  ports->add_option("SANDBOX", po.sandbox, "Sandbox name")->required();
  ports->footer(
      "Examples:\n  sbx ports shell-myproject\n  sbx ports shell-myproject --publish 5000\n"
      "  sbx ports shell-myproject --unpublish 49152");
  ports->callback([&] { action = [&] { return cmds.ports(po); }; });

  bool inspect_json = false;
  std::string inspect_name;
  auto* inspect = app.add_subcommand("inspect", "Show a sandbox's details (and why it failed)");
  inspect->add_flag("--json", inspect_json, "Print the details as JSON");
  inspect->add_option("SANDBOX", inspect_name, "Sandbox name")->required();
  inspect->footer("Example:\n  sbx inspect --json shell-myproject");
  inspect->callback([&] { action = [&] { return cmds.inspect(inspect_name, inspect_json); }; });

  std::string cp_src, cp_dst;
  auto* cp = app.add_subcommand("cp", "Copy files between the host and a sandbox");
  cp->add_option("SRC", cp_src, "Source: a host path or SANDBOX:PATH")->required();
  cp->add_option("DST", cp_dst, "Destination: a host path or SANDBOX:PATH")->required();
  cp->footer(
      "Exactly one side is SANDBOX:PATH. An existing directory receives the copy;\n"
      "any other destination becomes its new name. Modes and symlinks are kept.\n"
      "Examples:\n  sbx cp ./src shell-myproject:/tmp/src\n  sbx cp "
      "shell-myproject:/var/log/app.log .");
  cp->callback([&] { action = [&] { return cmds.cp(cp_src, cp_dst); }; });

  bool reset_force = false, reset_keep_secrets = false;
  auto* reset = app.add_subcommand("reset", "Stop and remove every sandbox and stored secret");
  reset->add_flag("-f,--force", reset_force, "Do not ask for confirmation");
  reset->add_flag("--preserve-secrets", reset_keep_secrets, "Keep the stored secrets");
  reset->footer("Example:\n  sbx reset -f\n  sbx reset -f --preserve-secrets");
  reset->callback([&] { action = [&] { return cmds.reset(reset_force, reset_keep_secrets); }; });

  add_secret_commands(app, cmds, action);

  bool prune_dry = false, prune_force = false, prune_json = false;
  auto* prune =
      app.add_subcommand("prune", "Remove stopped sandboxes and cached images no sandbox uses");
  prune->add_flag("--dry-run", prune_dry, "Only show what would be removed");
  prune->add_flag("-f,--force", prune_force, "Do not ask for confirmation");
  prune->add_flag("--json", prune_json, "Print the result as JSON");
  prune->footer("Examples:\n  sbx prune --dry-run\n  sbx prune -f");
  prune->callback([&] { action = [&] { return cmds.prune(prune_dry, prune_force, prune_json); }; });

  add_template_commands(app, cmds, action);

  std::string completion_shell;
  auto* completion = app.add_subcommand("completion", "Print a shell completion script");
  completion->add_option("SHELL", completion_shell, "bash, zsh or fish")->required();
  completion->footer(
      "Examples:\n  source <(sbx completion bash)      # in ~/.bashrc\n"
      "  source <(sbx completion zsh)       # in ~/.zshrc\n"
      "  sbx completion fish | source       # in ~/.config/fish/config.fish");
  completion->callback([&] {
    action = [&] {
      std::vector<CompletionCommand> model;
      for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; }))
        model.push_back(describe(sub));
      auto script = completion_script(completion_shell, model);
      if (!script) {
        con.err << format_error(script.error().message);
        return kExitFailure;
      }
      con.out << *script;
      return 0;
    };
  });

  // sbx template load (template_load_command.cc) joins the template group.
  add_template_load_command(app.get_subcommand("template"), cmds, action);

  // sbx policy: network egress rules. Only "network" rules exist so far; the
  // keyword is kept for compatibility with Docker's sbx.
  struct PolicyArgs {
    std::string kind = "network", sandbox, resources, target, preset, resource;
    bool global = false, json = false, force = false, blocked = false, follow = false,
         summary = false;
    int64_t id = 0;
    int limit = 100;
  };
  auto pa = std::make_shared<PolicyArgs>();
  auto* policy = app.add_subcommand("policy", "Network egress rules: what sandboxes may reach");
  policy->require_subcommand(1);
  policy->footer(
      "Examples:\n  sbx policy allow network \"api.example.com,*.example.org\"\n"
      "  sbx policy check network github.com:22\n  sbx policy log --blocked");
  auto kind_arg = [&](CLI::App* sub) {
    sub->add_option("kind", pa->kind, "Rule kind (network)")
        ->required()
        ->check(CLI::IsMember({"network"}));
  };
  auto* pls = policy->add_subcommand("ls", "List the rules and the default policy");
  pls->add_flag("--json", pa->json, "Print JSON (includes the default policy's built-in rules)");
  pls->footer("Example:\n  sbx policy ls");
  pls->callback([&, pa] { action = [&, pa] { return cmds.policy_ls(pa->json); }; });
  for (const char* verb : {"allow", "deny"}) {
    auto* sub =
        policy->add_subcommand(verb, std::string(verb == std::string("allow") ? "Allow" : "Deny") +
                                         " domains (a.com, *.a.com), host:port or CIDR ranges");
    kind_arg(sub);
    sub->add_option("resources", pa->resources, "Comma-separated: a.com,*.b.org,host:22,10.0.0.0/8")
        ->required();
    sub->add_option("--sandbox", pa->sandbox, "Only for this sandbox");
    sub->add_flag("-g,--global", pa->global, "For every sandbox (the default)");
    sub->footer(std::string("Example:\n  sbx policy ") + verb +
                " network \"registry.example.com,*.example.org\"");
    std::string v = verb;
    sub->callback([&, pa, v] {
      action = [&, pa, v] {
        if (pa->global && !pa->sandbox.empty())
          throw Failure{"--sandbox and -g cannot be used together"};
        return cmds.policy_rule(v, pa->sandbox, pa->resources);
      };
    });
  }
  auto* prm = policy->add_subcommand("rm", "Remove a rule by id or by resource");
  kind_arg(prm);
  prm->add_option("--id", pa->id, "Rule id (see 'sbx policy ls')");
  prm->add_option("--resource", pa->resource, "The rule's resource text");
  prm->add_option("--sandbox", pa->sandbox, "With --resource: the sandbox's rule");
  prm->footer(
      "Examples:\n  sbx policy rm network --id 3\n  sbx policy rm network --resource example.com");
  prm->callback([&, pa] {
    action = [&, pa] {
      if ((pa->id > 0) == !pa->resource.empty())
        throw Failure{"give exactly one of --id and --resource"};
      return cmds.policy_rm(pa->id, pa->resource, pa->sandbox);
    };
  });
  auto* pcheck = policy->add_subcommand(
      "check", "Say whether a connection would be allowed, and by which rule");
  kind_arg(pcheck);
  pcheck
      ->add_option("target", pa->target,
                   "host, host:port, IP or [IPv6]:port (port 443 when omitted)")
      ->required();
  pcheck->add_option("--sandbox", pa->sandbox, "Decide as for this sandbox");
  pcheck->add_flag("--json", pa->json, "Print JSON");
  pcheck->footer(
      "Example:\n  sbx policy check network registry.npmjs.org\n(exit status 0: allowed, 1: "
      "denied)");
  pcheck->callback([&, pa] {
    action = [&, pa] { return cmds.policy_check(pa->sandbox, pa->target, pa->json); };
  });
  auto* pinit =
      policy->add_subcommand("init", "Set the default policy: allow-all, balanced or deny-all");
  pinit->add_option("preset", pa->preset, "allow-all | balanced | deny-all")
      ->required()
      ->check(CLI::IsMember({"allow-all", "balanced", "deny-all"}));
  pinit->footer("Example:\n  sbx policy init deny-all");
  pinit->callback([&, pa] { action = [&, pa] { return cmds.policy_init(pa->preset); }; });
  auto* preset_cmd =
      policy->add_subcommand("reset", "Remove every rule and restore the balanced default");
  preset_cmd->add_flag("-f,--force", pa->force, "Do not ask for confirmation");
  preset_cmd->footer("Example:\n  sbx policy reset -f");
  preset_cmd->callback([&, pa] { action = [&, pa] { return cmds.policy_reset(pa->force); }; });
  auto* plog = policy->add_subcommand(
      "log", "Show recent network connections and DNS lookups, and their verdicts");
  plog->add_option("SANDBOX", pa->sandbox, "Only this sandbox's activity (default: all)");
  plog->add_flag("--json", pa->json, "Print the entries as a JSON array");
  plog->add_option("--limit", pa->limit, "How many entries, newest first (1-10000; default 100)");
  plog->add_flag("--blocked", pa->blocked, "Only what was denied");
  plog->add_flag(
      "-f,--follow", pa->follow,
      "Keep printing new entries as they happen (with --json: one JSON object per line)");
  plog->add_flag("--summary", pa->summary,
                 "Group by host: count, allowed/blocked, last seen (over the last --limit "
                 "entries; default 10000 here)")
      ->excludes("--follow");
  plog->footer(
      "Examples:\n  sbx policy log\n  sbx policy log shell-myproject --blocked --limit 20\n"
      "  sbx policy log --summary\n"
      "  sbx policy log -f shell-myproject\n"
      "  sbx policy log --json | jq '.[] | select(.verdict == \"deny\") | .host'");
  plog->callback([&, pa] {
    action = [&, pa] {
      if (pa->summary) {
        bool limit_given = plog->count("--limit") > 0;
        return cmds.policy_log_summary(pa->sandbox, pa->json, limit_given ? pa->limit : 10000,
                                       pa->blocked);
      }
      return cmds.policy_log(pa->sandbox, pa->json, pa->limit, pa->blocked, pa->follow);
    };
  });

  add_kit_commands(app, con, action);

  auto* tui = app.add_subcommand(
      "tui", "Open the dashboard: sandboxes and live network activity (also: sbx alone)");
  tui->footer(
      "Keys: enter attach, c create, s stop, r restart, d delete, p publish, / filter,\n"
      "tab switch pane, a/b allow/block a host, v network view, ? help, q quit.\n"
      "Example:\n  sbx tui");
  tui->callback([&] { action = [&] { return cmds.tui(); }; });

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
  auto* dstop = daemon->add_subcommand(
      "stop", "Stop sandboxd (sandboxes keep running; the next sbx call adopts them)");
  dstop->footer("Example:\n  sbx daemon stop");
  dstop->callback([&] { action = [&] { return cmds.daemon_stop(); }; });
  auto* dstatus =
      daemon->add_subcommand("status", "Tell whether sandboxd is running (exit 1 if not)");
  dstatus->add_flag("--json", status_json, "Print the status as JSON");
  dstatus->footer("Example:\n  sbx daemon status");
  dstatus->callback([&] { action = [&] { return cmds.daemon_status(status_json); }; });

  try {
    // Only exec (the command) and run (the agent's arguments) take "--".
    bool takes_dashes = !args.empty() && (args[0] == "exec" || args[0] == "run");
    if (dashes && !takes_dashes)
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
    // `sbx` alone: the dashboard on a terminal, the help anywhere else
    // (scripts, pipes) where a full-screen program would be in the way.
    if (args.empty() && is_terminal(con.io.in) && is_terminal(con.io.out)) {
      action = [&] { return cmds.tui(); };
    } else {
      con.out << app.help();
      return 0;
    }
  }
  int rc = cmds.guarded(action);
  con.out.flush();
  con.err.flush();
  return rc;
}

}  // namespace sbx::cli
