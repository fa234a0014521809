#include "cli/kit_commands.h"

#include <CLI/CLI.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/strings.h"
#include "cli/commands.h"
#include "cli/format.h"
#include "kit/install_script.h"
#include "kit/kit_catalog.h"
#include "kit/kit_parser.h"
#include "kit/node_runtime.h"
#include "proto/json_util.h"

namespace sbx::cli {

namespace {

nlohmann::json to_json_value(const kit::Kit& k) {
  nlohmann::json files = nlohmann::json::array();
  for (auto& f : k.files) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", f.mode);
    files.push_back({{"path", f.path}, {"mode", mode}, {"bytes", f.content.size()}});
  }
  nlohmann::json creds = nlohmann::json::array();
  for (auto& c : k.credentials)
    creds.push_back(
        {{"service", c.service}, {"env", c.env}, {"domains", c.domains}, {"header", c.header}});
  nlohmann::json host = nlohmann::json::array();
  for (auto& h : k.host_config) host.push_back(h.path);
  return {{"name", k.name},     {"kind", k.kind},       {"description", k.description},
          {"parent", k.parent}, {"node", k.node},       {"install", k.install},
          {"env", k.env},       {"files", files},       {"entry", k.entry},
          {"allow", k.allow},   {"credentials", creds}, {"host_config", host},
          {"source", k.source}};
}

std::string quoted_argv(const std::vector<std::string>& argv) {
  std::vector<std::string> q;
  for (auto& a : argv) q.push_back(shell_quote(a));
  return join(q, " ");
}

kit::KitCatalog builtin_catalog() {
  auto c = kit::KitCatalog::open_builtin();
  if (!c) throw Failure{c.error().message};
  return std::move(*c);
}

}  // namespace

std::string kit_json(const kit::Kit& k, int indent) {
  return proto::dump_json(to_json_value(k), indent);
}

std::string format_kit(const kit::Kit& k) {
  std::ostringstream o;
  auto line = [&](const char* key, const std::string& v) {
    if (!v.empty()) o << key << v << "\n";
  };
  line("Name:        ", k.name);
  line("Kind:        ", k.kind);
  line("Description: ", k.description);
  line("Source:      ", k.source);
  line("Parent:      ", k.parent.empty() ? std::string("(the base template)") : k.parent);
  if (!k.node.empty()) {
    const kit::NodeRuntime* rt = kit::find_node_runtime(k.node);
    line("Node.js:     ", k.node + (rt ? " with npm " + rt->npm_version : std::string()) +
                              ", from the npm registry");
  }
  line("Entry:       ", quoted_argv(k.entry));
  if (!k.install.empty()) {
    o << "Install (as root, in order):\n";
    for (auto& s : k.install) o << "  " << s << "\n";
  }
  if (!k.env.empty()) {
    o << "Env:\n";
    for (auto& [n, v] : k.env) o << "  " << n << "=" << v << "\n";
  }
  if (!k.files.empty()) {
    o << "Files:\n";
    for (auto& f : k.files) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", f.mode);
      o << "  " << f.path << " (" << mode << ", " << f.content.size() << " bytes)\n";
    }
  }
  line("Allow:       ", join(k.allow, ", "));
  if (!k.credentials.empty()) {
    o << "Credentials (kept on the host, sent by the proxy):\n";
    for (auto& c : k.credentials)
      o << "  " << c.service << ": $" << c.env << " as " << c.header << " to "
        << join(c.domains, ", ") << "\n";
  }
  if (!k.host_config.empty()) {
    std::vector<std::string> paths;
    for (auto& h : k.host_config) paths.push_back("~/" + h.path);
    o << "Host config: " << join(paths, ", ") << "\n";
  }
  return o.str();
}

int kit_ls(Console& con, bool json) {
  auto c = builtin_catalog();
  if (json) {
    nlohmann::json kits = nlohmann::json::array();
    for (auto& k : c.kits()) kits.push_back(to_json_value(k));
    con.out << proto::dump_json({{"dir", c.dir()}, {"kits", kits}, {"problems", c.problems()}}, 2)
            << "\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {{"NAME", "KIND", "PARENT", "DESCRIPTION"}};
  for (auto& k : c.kits())
    rows.push_back({k.name, k.kind, k.parent.empty() ? "-" : k.parent, k.description});
  con.out << format_table(rows);
  for (auto& p : c.problems()) con.err << "Warning: kit left out: " << p << "\n";
  return 0;
}

int kit_inspect(Console& con, const std::string& name_or_dir, bool json) {
  Result<kit::Kit> k = kit::names_a_directory(name_or_dir) ? kit::load_kit_dir(name_or_dir)
                                                           : builtin_catalog().resolve(name_or_dir);
  if (!k) throw Failure{k.error().message};
  if (json) {
    con.out << kit_json(*k) << "\n";
    return 0;
  }
  con.out << format_kit(*k);
  return 0;
}

int kit_validate(Console& con, const std::string& dir) {
  auto k = kit::load_kit_dir(dir);
  if (!k) {
    auto lines = split(k.error().message, '\n');
    for (auto& l : lines) con.err << l << "\n";
    con.err << format_error("the kit in '" + dir + "' is not valid (" +
                            std::to_string(lines.size()) +
                            (lines.size() == 1 ? " problem" : " problems") + ")");
    return 1;
  }
  // The install script is part of what a build runs: it must be producible.
  if (auto s = kit::install_script(*k); !s) throw Failure{s.error().message};
  con.out << k->source << ": kit '" << k->name << "' is valid\n";
  return 0;
}

void add_kit_commands(CLI::App& app, Console& con, std::function<int()>& action) {
  struct Args {
    bool json = false;
    std::string target;
  };
  auto a = std::make_shared<Args>();
  auto add = [&](const std::string& name, const std::string& help, const std::string& note) {
    auto* kit = app.add_subcommand(name, help);
    kit->require_subcommand(1);
    kit->footer(note + "Examples:\n  sbx " + name + " ls\n  sbx " + name +
                " inspect claude\n  sbx " + name +
                " validate ./my-kit\n  sbx run --kit ./my-kit .");
    auto* ls = kit->add_subcommand("ls", "List the built-in kits");
    ls->add_flag("--json", a->json, "Print the kits as JSON");
    ls->footer(note + "Example:\n  sbx " + name + " ls --json");
    ls->callback([&con, &action, a] { action = [&con, a] { return kit_ls(con, a->json); }; });
    auto* inspect = kit->add_subcommand("inspect", "Show a kit: a built-in NAME, or a DIR");
    inspect->add_option("KIT", a->target, "A built-in kit's name, or a kit directory (./dir)")
        ->required();
    inspect->add_flag("--json", a->json, "Print the kit as JSON");
    inspect->footer(note + "Examples:\n  sbx " + name + " inspect claude\n  sbx " + name +
                    " inspect --json ./my-kit");
    inspect->callback([&con, &action, a] {
      action = [&con, a] { return kit_inspect(con, a->target, a->json); };
    });
    auto* validate = kit->add_subcommand(
        "validate", "Check a kit directory's kit.yaml (exit 1 with FILE:LINE errors if invalid)");
    validate->add_option("DIR", a->target, "The kit's directory (holding kit.yaml)")->required();
    validate->footer(note + "Example:\n  sbx " + name + " validate ./my-kit");
    validate->callback(
        [&con, &action, a] { action = [&con, a] { return kit_validate(con, a->target); }; });
  };
  add("kit", "Agent kits: list, inspect and validate kit.yaml definitions", "");
  add("blueprint", "Old name of 'sbx kit' (kits were called blueprints); use 'sbx kit'",
      "'blueprint' is the old name of 'kit': 'sbx blueprint ...' is 'sbx kit ...'.\n");
}

}  // namespace sbx::cli
