// `sbx policy ...`: the egress rules, kept and decided by sandboxd.
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/format.h"

namespace sbx::cli {

namespace {

// Sends a policy request; a non-2xx answer becomes a Failure with the
// daemon's message.
nlohmann::json policy_call(ApiClient& c, const std::string& method, const std::string& route,
                           const nlohmann::json& body) {
  auto r = c.request(method, "/v1/policy" + route, body.is_null() ? "" : body.dump(),
                     std::chrono::seconds(30));
  if (!r) throw Failure{r.error().message};
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (j.is_discarded()) throw Failure{"malformed answer from sandboxd"};
  return j;
}

std::string scope_of(const std::string& sandbox) {
  return sandbox.empty() ? "global" : "sandbox '" + sandbox + "'";
}

}  // namespace

int Commands::policy_ls(bool json) {
  auto j = policy_call(daemon(), "GET", "", nullptr);
  if (json) {
    con_.out << j.dump(2) << "\n";
    return 0;
  }
  con_.out << "Default policy: " << j["preset"].get<std::string>() << "\n";
  std::vector<std::vector<std::string>> rows{{"ID", "SCOPE", "ACTION", "RESOURCE"}};
  for (auto& r : j["rules"])
    rows.push_back({std::to_string(r["id"].get<int64_t>()), r["scope"].get<std::string>(),
                    r["action"].get<std::string>(), r["resource"].get<std::string>()});
  con_.out << format_table(rows);
  con_.out << "(" << j["builtin"].size()
           << " more rules come from the default policy; 'sbx policy ls --json' lists them)\n";
  return 0;
}

int Commands::policy_rule(const std::string& action, const std::string& sandbox,
                          const std::string& resources) {
  auto j = policy_call(daemon(), "POST", "/rules",
                       {{"action", action}, {"sandbox", sandbox}, {"resources", resources}});
  bool colour_on = colour();
  con_.out << paint("✓", "32", colour_on) << " " << (action == "allow" ? "Allowed " : "Denied ")
           << resources << " (" << scope_of(sandbox) << ", rule " << j["ids"].dump() << ")\n";
  return 0;
}

int Commands::policy_rm(int64_t id, const std::string& resource, const std::string& sandbox) {
  nlohmann::json body = {{"sandbox", sandbox}};
  if (id > 0)
    body["id"] = id;
  else
    body["resource"] = resource;
  auto j = policy_call(daemon(), "POST", "/remove", body);
  con_.out << "Removed " << j["removed"].get<int64_t>() << " rule(s)\n";
  return 0;
}

int Commands::policy_check(const std::string& sandbox, const std::string& target, bool json) {
  auto j = policy_call(daemon(), "POST", "/check", {{"sandbox", sandbox}, {"target", target}});
  bool allowed = j["allowed"].get<bool>();
  if (json) {
    con_.out << j.dump(2) << "\n";
  } else {
    con_.out << (allowed ? "allow " : "deny ") << target << " (" << scope_of(sandbox)
             << "): " << j["rule"].get<std::string>() << "\n";
    if (!allowed) con_.out << "To allow it: sbx policy allow network " << target << "\n";
  }
  // Scripts can branch on the verdict.
  return allowed ? 0 : 1;
}

namespace {

NetworkLogRow log_row(const nlohmann::json& e) {
  NetworkLogRow r;
  r.time_ms = e.value("time_ms", int64_t{0});
  r.sandbox = e.value("sandbox", "");
  r.kind = e.value("kind", "");
  r.host = e.value("host", "");
  r.port = e.value("port", uint16_t{0});
  r.method = e.value("method", "");
  r.path = e.value("path", "");
  r.allowed = e.value("verdict", "") == "allow";
  r.rule = e.value("rule", "");
  r.bytes_up = e.value("bytes_up", uint64_t{0});
  r.bytes_down = e.value("bytes_down", uint64_t{0});
  r.finished = e.value("finished", false);
  return r;
}

}  // namespace

int Commands::policy_log(const std::string& sandbox, bool json, int limit, bool blocked,
                         bool follow) {
  if (limit < 1 || limit > 10000)
    throw Failure{"invalid --limit " + std::to_string(limit) + ": use 1 to 10000"};
  if (!sandbox.empty())
    if (auto r = proto::validate_sandbox_name(sandbox); !r)
      throw Failure{"sandbox '" + sandbox + "' not found. Run 'sbx ls' to see your sandboxes."};
  if (json && follow) {
    // Streams as newline-delimited JSON: one object per new entry.
    follow_log(sandbox, true, blocked);
    return 0;
  }
  std::string route = "/log?limit=" + std::to_string(limit);
  if (!sandbox.empty()) route += "&sandbox=" + sandbox;
  if (blocked) route += "&blocked=1";
  auto j = policy_call(daemon(), "GET", route, nullptr);
  if (!j.is_array()) throw Failure{"malformed answer from sandboxd"};
  if (json) {
    con_.out << j.dump(2) << "\n";
    return 0;
  }
  std::vector<NetworkLogRow> rows;
  for (auto& e : j)
    if (e.is_object()) rows.push_back(log_row(e));
  con_.out << format_network_log(rows, colour());
  if (rows.empty() && !follow)
    con_.out << (blocked ? "Nothing was blocked" : "No network activity") << " yet"
             << (sandbox.empty() ? "" : " in sandbox '" + sandbox + "'") << "\n";
  if (follow) follow_log(sandbox, false, blocked);
  return 0;
}

void Commands::follow_log(const std::string& sandbox, bool json, bool blocked) {
  con_.out.flush();
  std::string route = "/v1/policy/log/stream";
  if (!sandbox.empty()) route += "?sandbox=" + sandbox;
  auto r = daemon().stream_lines(route, [&](std::string_view line) {
    auto e = nlohmann::json::parse(line, nullptr, false);
    if (!e.is_object()) return true;  // not ours to judge; skip it
    if (blocked && e.value("verdict", "") != "deny") return true;
    if (json) {
      con_.out << line << "\n";
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
  policy_call(daemon(), "POST", "/init", {{"preset", preset}});
  con_.out << "Default policy set to " << preset << "\n";
  return 0;
}

int Commands::policy_reset(bool force) {
  if (!confirmed("This removes every network rule and restores the balanced default. Continue?",
                 force, "Use 'sbx policy reset -f'.")) {
    con_.err << "Cancelled.\n";
    return 1;
  }
  policy_call(daemon(), "POST", "/reset", nlohmann::json::object());
  con_.out << "Policy reset to the balanced default\n";
  return 0;
}

}  // namespace sbx::cli
