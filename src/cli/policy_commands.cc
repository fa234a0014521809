// `sbx policy ...`: the egress rules, kept and decided by sandboxd.
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/format.h"
#include "proto/json_util.h"

namespace sbx::cli {

namespace {

// The value of a policy call, or a Failure with the daemon's message.
template <class T>
T answer(Result<T> r) {
  if (!r) throw Failure{r.error().message};
  if constexpr (!std::is_void_v<T>) return std::move(*r);
}

// Pretty-printed JSON of a typed message, for --json.
template <class T>
std::string pretty(const T& v) {
  return proto::dump_json(nlohmann::json::parse(proto::to_json(v)), 2);
}

std::string scope_of(const std::string& sandbox) {
  return sandbox.empty() ? "global" : "sandbox '" + sandbox + "'";
}

}  // namespace

int Commands::policy_ls(bool json) {
  auto l = answer(daemon().policy());
  if (json) {
    con_.out << pretty(l) << "\n";
    return 0;
  }
  con_.out << "Default policy: " << l.preset << "\n";
  std::vector<std::vector<std::string>> rows{{"ID", "SCOPE", "ACTION", "RESOURCE"}};
  for (auto& r : l.rules) rows.push_back({std::to_string(r.id), r.scope, r.action, r.resource});
  con_.out << format_table(rows);
  con_.out << "(" << l.builtin.size()
           << " more rules come from the default policy; 'sbx policy ls --json' lists them)\n";
  return 0;
}

int Commands::policy_rule(const std::string& action, const std::string& sandbox,
                          const std::string& resources) {
  auto added = answer(daemon().add_policy_rules({action, sandbox, resources}));
  bool colour_on = colour();
  con_.out << paint("✓", "32", colour_on) << " " << (action == "allow" ? "Allowed " : "Denied ")
           << resources << " (" << scope_of(sandbox) << ", rule "
           << nlohmann::json(added.ids).dump() << ")\n";
  return 0;
}

int Commands::policy_rm(int64_t id, const std::string& resource, const std::string& sandbox) {
  proto::PolicyRemoveRequest req;
  req.sandbox = sandbox;
  if (id > 0)
    req.id = id;
  else
    req.resource = resource;
  auto n = answer(daemon().remove_policy_rules(req));
  con_.out << "Removed " << n.removed << " rule(s)\n";
  return 0;
}

int Commands::policy_check(const std::string& sandbox, const std::string& target, bool json) {
  auto d = answer(daemon().check_policy({sandbox, target}));
  bool allowed = d.allowed;
  if (json) {
    con_.out << pretty(d) << "\n";
  } else {
    con_.out << (allowed ? "allow " : "deny ") << target << " (" << scope_of(sandbox)
             << "): " << d.rule << "\n";
    if (!allowed) con_.out << "To allow it: sbx policy allow network " << target << "\n";
  }
  // Scripts can branch on the verdict.
  return allowed ? 0 : 1;
}

namespace {

// `policy log` and `policy log --summary` take the same --limit.
void check_log_limit(int limit) {
  if (limit < 1 || limit > 10000)
    throw Failure{"invalid --limit " + std::to_string(limit) + ": use 1 to 10000"};
}

// What either prints when the log holds nothing to show.
std::string nothing_logged(const std::string& sandbox, bool blocked) {
  return std::string(blocked ? "Nothing was blocked" : "No network activity") + " yet" +
         (sandbox.empty() ? "" : " in sandbox '" + sandbox + "'") + "\n";
}

NetworkLogRow log_row(const proto::NetworkLogEntry& e) {
  NetworkLogRow r;
  r.time_ms = e.time_ms;
  r.sandbox = e.sandbox;
  r.kind = e.kind;
  r.host = e.host;
  r.port = e.port;
  r.method = e.method;
  r.path = e.path;
  r.allowed = e.allowed;
  r.rule = e.rule;
  r.bytes_up = e.bytes_up;
  r.bytes_down = e.bytes_down;
  r.finished = e.finished;
  return r;
}

}  // namespace

int Commands::policy_log(const std::string& sandbox, bool json, int limit, bool blocked,
                         bool follow) {
  check_log_limit(limit);
  if (!sandbox.empty())
    if (auto r = proto::validate_sandbox_name(sandbox); !r)
      throw Failure{"sandbox '" + sandbox + "' not found. Run 'sbx ls' to see your sandboxes."};
  if (json && follow) {
    // Streams as newline-delimited JSON: one object per new entry.
    follow_log(sandbox, true, blocked);
    return 0;
  }
  auto log = answer(daemon().network_log({sandbox, limit, blocked}));
  if (json) {
    con_.out << proto::dump_json(nlohmann::json::parse(proto::to_json(log)), 2) << "\n";
    return 0;
  }
  std::vector<NetworkLogRow> rows;
  for (auto& e : log) rows.push_back(log_row(e));
  con_.out << format_network_log(rows, colour());
  if (rows.empty() && !follow) con_.out << nothing_logged(sandbox, blocked);
  if (follow) follow_log(sandbox, false, blocked);
  return 0;
}

int Commands::policy_log_summary(const std::string& sandbox, bool json, int limit, bool blocked) {
  check_log_limit(limit);
  auto hosts = proto::summarize_by_host(answer(daemon().network_log({sandbox, limit, blocked})));
  if (json) {
    auto arr = nlohmann::json::array();
    for (auto& h : hosts)
      arr.push_back({{"host", h.host},
                     {"verdict", proto::verdict_of(h)},
                     {"count", h.count},
                     {"allowed", h.allowed},
                     {"blocked", h.blocked},
                     {"last_seen_ms", h.last_seen_ms},
                     {"last_sandbox", h.last_sandbox},
                     {"bytes", h.bytes}});
    con_.out << proto::dump_json(arr, 2) << "\n";
    return 0;
  }
  con_.out << format_host_summary(hosts);
  if (hosts.empty()) con_.out << nothing_logged(sandbox, blocked);
  return 0;
}

void Commands::follow_log(const std::string& sandbox, bool json, bool blocked) {
  con_.out.flush();
  auto r = daemon().follow_network_log(sandbox, [&](const proto::NetworkLogEntry& e) {
    if (blocked && e.allowed) return true;
    if (json) {
      con_.out << proto::to_json(e) << "\n";
    } else {
      // One row at a time: the table without its header line.
      std::string t = format_network_log({log_row(e)}, colour());
      con_.out << t.substr(t.find('\n') + 1);
    }
    con_.out.flush();
    return static_cast<bool>(con_.out);
  });
  if (!r) throw Failure{r.error().message};
}

int Commands::policy_init(const std::string& preset) {
  answer(daemon().init_policy({preset}));
  con_.out << "Default policy set to " << preset << "\n";
  return 0;
}

int Commands::policy_reset(bool force) {
  if (!confirmed("This removes every network rule and restores the balanced default. Continue?",
                 force, "Use 'sbx policy reset -f'.")) {
    con_.err << "Cancelled.\n";
    return 1;
  }
  answer(daemon().reset_policy());
  con_.out << "Policy reset to the balanced default\n";
  return 0;
}

}  // namespace sbx::cli
