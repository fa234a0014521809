// `sbx secret set|set-custom|ls|rm|bypass`.
#include "cli/secret_commands.h"

#include <termios.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "cli/app.h"
#include "cli/format.h"
#include "cli/terminal.h"
#include "proto/json_util.h"
#include "proto/secret_api.h"

namespace sbx::cli {

namespace {

constexpr auto kTimeout = std::chrono::seconds(10);
constexpr size_t kMaxSecret = 16 * 1024;

// Turns echo off on a terminal for as long as it lives.
class NoEcho {
 public:
  explicit NoEcho(int fd) : fd_(fd) {
    if (::tcgetattr(fd_, &saved_) != 0) return;
    termios t = saved_;
    t.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    active_ = ::tcsetattr(fd_, TCSAFLUSH, &t) == 0;
  }
  ~NoEcho() {
    if (active_) ::tcsetattr(fd_, TCSAFLUSH, &saved_);
  }
  NoEcho(const NoEcho&) = delete;
  NoEcho& operator=(const NoEcho&) = delete;

 private:
  int fd_;
  termios saved_{};
  bool active_ = false;
};

// Reads the secret, one line: a hidden prompt on a terminal, else stdin, so
// `pass show x | sbx secret set -g anthropic` works.
std::string read_secret(int in, std::ostream& err, const std::string& what) {
  std::string value;
  char c;
  bool tty = is_terminal(in);
  if (tty) err << "Enter the secret for " << what << " (input is hidden): " << std::flush;
  {
    std::optional<NoEcho> hide;
    if (tty) hide.emplace(in);
    while (::read(in, &c, 1) == 1 && c != '\n' && value.size() <= kMaxSecret) value += c;
  }
  if (tty) err << "\n";
  while (!value.empty() && value.back() == '\r') value.pop_back();
  if (value.empty()) throw Failure{"no secret given for " + what + " (use -t, or type or pipe it)"};
  if (value.size() > kMaxSecret) throw Failure{"the secret is longer than 16 KiB"};
  return value;
}

// [-g | SANDBOX] NAME...: the scope and the rest.
std::pair<std::string, std::vector<std::string>> scope_and_rest(bool global,
                                                                const std::vector<std::string>& a,
                                                                size_t rest, const char* usage) {
  if (global) {
    if (a.size() != rest) throw Failure{std::string("with -g give only: ") + usage};
    return {"", a};
  }
  if (a.size() != rest + 1)
    throw Failure{std::string("name a sandbox, or use -g for every sandbox: ") + usage};
  return {a[0], std::vector<std::string>(a.begin() + 1, a.end())};
}

}  // namespace

int Commands::secret_set(const SecretSetOpts& o) {
  proto::SecretSetRequest req;
  std::string what;
  if (o.custom) {
    auto [scope, rest] =
        scope_and_rest(o.global, o.args, 0, "sbx secret set-custom ... [-g | SANDBOX]");
    req.scope = scope;
    req.custom = true;
    req.hosts = o.hosts;
    req.env = o.env;
    req.header = o.header;
    req.placeholder = o.placeholder;
    req.service = o.env;
    what = o.env;
  } else {
    auto [scope, rest] =
        scope_and_rest(o.global, o.args, 1, "sbx secret set [-g | SANDBOX] SERVICE");
    req.scope = scope;
    req.service = rest[0];
    what = rest[0];
  }
  req.value = o.token.empty() ? read_secret(con_.io.in, con_.err, what) : o.token;
  check(daemon().request("POST", "/v1/secrets", proto::to_json(req), kTimeout), req.scope);
  con_.out << "Stored the secret for " << what << " ("
           << (req.scope.empty() ? "global: sandboxes created from now on"
                                 : "sandbox '" + req.scope + "'")
           << "). Inside the sandbox the variable holds "
           << (o.custom && !o.placeholder.empty() ? "the placeholder" : "'proxy-managed'")
           << "; sbx adds the real value to requests for the service's hosts.\n";
  return 0;
}

int Commands::secret_ls(bool json) {
  auto r = check(daemon().request("GET", "/v1/secrets", "", kTimeout));
  auto list = proto::parse_secret_list(r.body);
  if (!list) throw Failure{"the daemon's answer: " + list.error().message};
  if (json) {
    con_.out << proto::dump_json(nlohmann::json::parse(proto::to_json(*list)), 2) << "\n";
    return 0;
  }
  if (list->empty()) {
    con_.out << "No secrets. Store one with 'sbx secret set -g anthropic'.\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows{{"SCOPE", "SERVICE", "SOURCE", "HOSTS"}};
  for (const auto& s : *list) {
    std::string hosts;
    for (const auto& h : s.hosts) hosts += (hosts.empty() ? "" : ",") + h;
    rows.push_back({s.scope.empty() ? "(global)" : s.scope, s.service, s.source, hosts});
  }
  con_.out << format_table(rows);
  return 0;
}

int Commands::secret_rm(bool global, const std::vector<std::string>& args) {
  auto [scope, rest] = scope_and_rest(global, args, 1, "sbx secret rm [-g | SANDBOX] SERVICE");
  nlohmann::json body{{"scope", scope}, {"service", rest[0]}};
  check(daemon().request("POST", "/v1/secrets/remove", body.dump(), kTimeout));
  con_.out << "Removed the " << (scope.empty() ? "global" : "sandbox '" + scope + "'")
           << " secret for " << rest[0] << "\n";
  return 0;
}

int Commands::secret_bypass(bool add, bool global, const std::vector<std::string>& args) {
  auto [scope, rest] = scope_and_rest(global, args, 1,
                                      add ? "sbx secret bypass add [-g | SANDBOX] HOST"
                                          : "sbx secret bypass rm [-g | SANDBOX] HOST");
  proto::SecretBypass b{scope, rest[0]};
  check(daemon().request("POST", add ? "/v1/secrets/bypass" : "/v1/secrets/bypass/remove",
                         proto::to_json(b), kTimeout),
        scope);
  std::string who = scope.empty() ? "every sandbox" : "sandbox '" + scope + "'";
  if (add)
    con_.out << "TLS to " << rest[0] << " from " << who
             << " is now relayed without interception: no credential is added to its requests "
                "(for clients that pin certificates). Undo with 'sbx secret bypass rm "
             << (scope.empty() ? "-g" : scope) << " " << rest[0] << "'.\n";
  else
    con_.out << "Removed the bypass of " << rest[0] << " for " << who << "\n";
  return 0;
}

int Commands::secret_bypass_ls(bool json) {
  auto r = check(daemon().request("GET", "/v1/secrets/bypass", "", kTimeout));
  auto list = proto::parse_secret_bypass_list(r.body);
  if (!list) throw Failure{"the daemon's answer: " + list.error().message};
  if (json) {
    con_.out << proto::dump_json(nlohmann::json::parse(proto::to_json(*list)), 2) << "\n";
    return 0;
  }
  if (list->empty()) {
    con_.out << "No bypasses: TLS to every host with a secret is intercepted.\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows{{"SCOPE", "HOST"}};
  for (const auto& b : *list) rows.push_back({b.scope.empty() ? "(global)" : b.scope, b.host});
  con_.out << format_table(rows);
  return 0;
}

void add_secret_commands(CLI::App& app, Commands& cmds, std::function<int()>& action) {
  auto* secret = app.add_subcommand(
      "secret", "Credentials kept on the host and added to requests for their services");
  secret->require_subcommand(1);
  secret->footer(
      "Built-in services: anthropic (ANTHROPIC_API_KEY, or a CLAUDE_CODE_OAUTH_TOKEN),\n"
      "openai (OPENAI_API_KEY), github (GH_TOKEN, GITHUB_TOKEN), google (GEMINI_API_KEY).\n"
      "A stored secret beats sandboxd's environment variable of the same name.");
  // Shared by the callbacks below; lives as long as `app`.
  auto so = std::make_shared<SecretSetOpts>();
  auto json = std::make_shared<bool>(false);

  auto* set = secret->add_subcommand("set", "Store the secret of a built-in service");
  set->add_flag("-g,--global", so->global, "For every sandbox (created from now on)");
  set->add_option("args", so->args, "[SANDBOX] SERVICE")->required();
  set->add_option("-t,--token", so->token,
                  "The secret (visible in ps; prefer the prompt or a pipe)");
  set->footer(
      "Examples:\n  sbx secret set -g anthropic\n"
      "  echo \"$OPENAI_API_KEY\" | sbx secret set my-sandbox openai");
  set->callback([&, so] { action = [&, so] { return cmds.secret_set(*so); }; });

  auto* custom = secret->add_subcommand("set-custom", "Store a secret for any service");
  custom->add_option("--host", so->hosts, "A host it is sent to (repeatable)")->required();
  custom->add_option("--env", so->env, "The variable that holds it in the sandbox")->required();
  custom->add_option("--header", so->header, "A header set to the value");
  custom->add_option("--placeholder", so->placeholder,
                     "Text the sandbox holds; replaced by the value in request heads");
  custom->add_option("-t,--token", so->token, "The secret (visible in ps)");
  custom->add_flag("-g,--global", so->global, "For every sandbox");
  custom->add_option("sandbox", so->args, "SANDBOX (or -g)");
  custom->footer(
      "Example:\n  sbx secret set-custom --host api.example.com --env EXAMPLE_KEY "
      "--header X-Api-Key -g");
  custom->callback([&, so] {
    so->custom = true;
    action = [&, so] { return cmds.secret_set(*so); };
  });

  auto* ls = secret->add_subcommand("ls", "List secrets (never their values)");
  ls->add_flag("--json", *json, "Print JSON");
  ls->callback([&, json] { action = [&, json] { return cmds.secret_ls(*json); }; });

  auto rm_global = std::make_shared<bool>(false);
  auto rm_args = std::make_shared<std::vector<std::string>>();
  auto* rm = secret->add_subcommand("rm", "Remove a stored secret");
  rm->add_flag("-g,--global", *rm_global, "The global one");
  rm->add_option("args", *rm_args, "[SANDBOX] SERVICE")->required();
  rm->footer("Example:\n  sbx secret rm -g anthropic");
  rm->callback([&, rm_global, rm_args] {
    action = [&, rm_global, rm_args] { return cmds.secret_rm(*rm_global, *rm_args); };
  });

  auto* bypass = secret->add_subcommand(
      "bypass", "Hosts relayed without TLS interception (for clients that pin certificates)");
  bypass->require_subcommand(1);
  bypass->footer(
      "A bypassed host is never decrypted, so no credential is added to its requests:\n"
      "the client must hold its own key.");
  auto by_global = std::make_shared<bool>(false);
  auto by_args = std::make_shared<std::vector<std::string>>();
  for (bool add : {true, false}) {
    auto* sub = bypass->add_subcommand(add ? "add" : "rm",
                                       add ? "Relay HOST opaquely" : "Intercept HOST again");
    sub->add_flag("-g,--global", *by_global, "For every sandbox");
    sub->add_option("args", *by_args, "[SANDBOX] HOST")->required();
    sub->footer(add ? "Example:\n  sbx secret bypass add -g api.github.com"
                    : "Example:\n  sbx secret bypass rm -g api.github.com");
    sub->callback([&, add, by_global, by_args] {
      action = [&, add, by_global, by_args] {
        return cmds.secret_bypass(add, *by_global, *by_args);
      };
    });
  }
  auto by_json = std::make_shared<bool>(false);
  auto* by_ls = bypass->add_subcommand("ls", "List bypassed hosts");
  by_ls->add_flag("--json", *by_json, "Print JSON");
  by_ls->callback(
      [&, by_json] { action = [&, by_json] { return cmds.secret_bypass_ls(*by_json); }; });
}

}  // namespace sbx::cli
