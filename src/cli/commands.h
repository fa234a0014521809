// The bodies of the sbx commands, apart from their CLI11 wiring (app.cc).
// Each returns the process exit code; sbx's own failures are thrown as
// Failure inside and turned into "Error: ..." and 125 by guarded().
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/paths.h"
#include "cli/app.h"
#include "client/api_client.h"
#include "proto/api.h"

namespace sbx::cli {

/// A failure already phrased for the user; guarded() prints it as
/// "Error: ..." and returns 125.
struct Failure {
  std::string message;
};

/// Phrases an API failure about `sandbox` for the user (a 404 becomes
/// "sandbox 'x' not found", with a hint).
std::string explain(const Error& e, const std::string& sandbox);

/// The value of `r`, or throws its error phrased by explain().
template <class T>
T check(Result<T> r, const std::string& sandbox = "") {
  if (!r) throw Failure{explain(r.error(), sandbox)};
  if constexpr (!std::is_void_v<T>) return std::move(*r);
}

/// Flags shared by `create` and `run` for a new sandbox.
struct NewSandboxOpts {
  std::string name;
  std::string memory;
  int cpus = 0;
  std::vector<std::string> publish;  ///< -p specs
  std::string docker_size;           ///< --docker-size
  bool deny_network = false;         ///< --deny-network
  std::string kit_dir;               ///< --kit DIR: a user's kit
  bool no_host_config = false;       ///< --no-host-config

  std::string template_tag;  ///< -t/--template
  bool no_host_ca = false;   ///< --no-host-ca
};

/// `sbx create`
struct CreateOpts {
  NewSandboxOpts sandbox;
  bool quiet = false;
  std::string agent;
  std::string path;
};

/// `sbx exec`
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

/// `sbx run`
struct RunOpts {
  std::string target;              ///< a sandbox, or an agent
  std::vector<std::string> paths;  ///< workspace (only one supported)
  NewSandboxOpts sandbox;
  std::vector<std::string> env;
  std::vector<std::string> env_files;
  bool detach = false;
  bool remove = false;                  ///< --rm
  std::vector<std::string> agent_args;  ///< after "--"
};

/// `sbx ports`
struct PortsOpts {
  std::string sandbox;
  std::vector<std::string> publish;
  std::vector<std::string> unpublish;
  bool json = false;
};

/// The entry command of an agent's session: for `shell`, a login bash
/// (plus the user's arguments) in the workspace.
std::vector<std::string> agent_command(const std::string& agent,
                                       const std::vector<std::string>& agent_args);

struct SecretSetOpts;  // cli/secret_commands.h

/// Runs sbx commands against the daemon, writing to a Console.
class Commands {
 public:
  explicit Commands(Console& con) : con_(con) {}

  int create(const CreateOpts& o);
  int ls(bool json, bool quiet);
  int exec(ExecOpts o);
  int run(const RunOpts& o);
  int stop(const std::vector<std::string>& names);
  int rm(const std::vector<std::string>& names, bool force, bool all);
  int ports(const PortsOpts& o);
  /// Removes every sandbox and, unless `preserve_secrets`, every secret.
  int reset(bool force, bool preserve_secrets = false);
  int prune(bool dry_run, bool force, bool json);
  int inspect(const std::string& name, bool json);
  int cp(const std::string& src, const std::string& dst);
  int version();
  int daemon_start();
  int daemon_stop();
  int daemon_status(bool json);

  /// sbx policy ...; check returns 0 for allow and 1 for deny.
  int policy_ls(bool json);
  int policy_rule(const std::string& action, const std::string& sandbox,
                  const std::string& resources);
  int policy_rm(int64_t id, const std::string& resource, const std::string& sandbox);
  int policy_check(const std::string& sandbox, const std::string& target, bool json);
  int policy_init(const std::string& preset);
  int policy_reset(bool force);
  /// sbx policy log: `sandbox` empty = all; `limit` 1..10000.
  /// With `follow`, then prints new entries as they happen (NDJSON with
  /// `json`) until interrupted or the daemon stops.
  int policy_log(const std::string& sandbox, bool json, int limit, bool blocked,
                 bool follow = false);
  /// sbx policy log --summary: the last `limit` entries grouped by host.
  int policy_log_summary(const std::string& sandbox, bool json, int limit, bool blocked);
  /// sbx tui, and sbx with no arguments on a terminal: the dashboard.
  int tui();

  /// sbx secret ...: values are read from -t, a hidden prompt or stdin.
  int secret_set(const SecretSetOpts& o);
  int secret_ls(bool json);
  int secret_rm(bool global, const std::vector<std::string>& args);
  /// sbx secret bypass add|rm [-g | SANDBOX] HOST: hosts relayed without
  /// TLS interception (no credential injected), for clients that pin.
  int secret_bypass(bool add, bool global, const std::vector<std::string>& args);
  /// sbx secret bypass ls [--json].
  int secret_bypass_ls(bool json);

  /// sbx template load FILE [TAG] (template_load_command.cc).
  int template_load(const std::string& file, const std::string& tag, bool json);

  /// sbx template ... (template_commands.cc)
  int template_ls(bool json);
  int template_inspect(const std::string& tag, bool json);
  int template_rm(const std::vector<std::string>& tags);
  /// Saves SANDBOX as TAG; a running sandbox is stopped with `stop`, else
  /// after asking on a terminal (`yes` answers for the user).
  /// `output`: also write the template to this archive file ("" = no).
  int template_save(const std::string& sandbox, const std::string& tag, bool stop, bool yes,
                    const std::string& output = "");

  /// Runs a command body, turning a Failure into "Error: ..." and 125.
  int guarded(const std::function<int()>& body);

 private:
  /// Prints the network log's live events until the stream ends.
  void follow_log(const std::string& sandbox, bool json, bool blocked);
  client::ApiClient& daemon();
  client::ApiClient& client();
  const Paths& paths();
  bool colour();
  /// Asks before something destructive: on a terminal unless `force`;
  /// without a terminal and without -f it refuses (scripts must say -f).
  bool confirmed(const std::string& question, bool force, const std::string& flag_hint);

  /// The request for a new sandbox, checked as far as the CLI can (kit,
  /// agent, sizes, ports, workspace, name); throws Failure.
  proto::CreateRequest create_request(const std::string& agent, const std::string& path,
                                      const NewSandboxOpts& o);
  proto::SandboxInfo create_sandbox(const std::string& agent, const std::string& path,
                                    const NewSandboxOpts& o, bool allow_existing, bool* existed);
  int attach(const proto::SandboxInfo& s, const RunOpts& o);
  /// Prints "INFO: Starting Docker daemon" and waits while the guest's
  /// dockerd is still starting, as Docker's sbx does before a session.
  void wait_for_docker(const std::string& name);
  int stream(const std::string& sandbox, const proto::ExecRequest& req, bool interactive,
             bool raw_terminal);

  Console& con_;
  std::optional<Paths> paths_;
  std::optional<client::ApiClient> client_;
  bool daemon_checked_ = false;
};

}  // namespace sbx::cli
