// `sbx template ...`: templates are base images and the layers saved from
// sandboxes or built from agents' kits.
#include "cli/template_commands.h"

#include <ctime>
#include <nlohmann/json.hpp>

#include "base/files.h"
#include "base/strings.h"
#include "cli/format.h"
#include "cli/terminal.h"
#include "proto/json_util.h"

namespace sbx::cli {

namespace {

int64_t now_seconds() { return static_cast<int64_t>(time(nullptr)); }

void print_progress(std::ostream& err, const std::string& line) {
  err << line << "\n";
  err.flush();
}

std::string used_by(const proto::TemplateInfo& t) {
  std::vector<std::string> all = t.sandboxes;
  for (auto& c : t.children) all.push_back("template " + c);
  return all.empty() ? "-" : join(all, ", ");
}

}  // namespace

std::string format_age(const std::string& created, int64_t now) {
  tm t{};
  if (!strptime(created.c_str(), "%Y-%m-%dT%H:%M:%SZ", &t)) return "?";
  int64_t then = static_cast<int64_t>(timegm(&t));
  int64_t s = now > then ? now - then : 0;
  auto unit = [](int64_t n, const char* u) {
    return std::to_string(n) + " " + u + (n == 1 ? "" : "s");
  };
  if (s < 60) return unit(s, "second");
  if (s < 3600) return unit(s / 60, "minute");
  if (s < 86400) return unit(s / 3600, "hour");
  return unit(s / 86400, "day");
}

std::string format_template_table(const std::vector<proto::TemplateInfo>& list, int64_t now) {
  std::vector<std::vector<std::string>> rows = {{"TAG", "PARENT", "SIZE", "AGE", "USED BY"}};
  for (auto& t : list)
    rows.push_back({t.tag, t.parent.empty() ? "-" : t.parent, format_size(t.size_bytes),
                    format_age(t.created, now), used_by(t)});
  return format_table(rows);
}

std::string format_template(const proto::TemplateInfo& t, int64_t now) {
  std::string out;
  auto row = [&](const std::string& k, const std::string& v) {
    out += k + ":" + std::string(k.size() < 10 ? 10 - k.size() : 1, ' ') + v + "\n";
  };
  row("Tag", t.tag);
  row("ID", t.id.substr(0, 16));
  row("Kind", t.kind + " (" + t.origin + ")");
  row("Parent", t.parent.empty() ? "-" : t.parent + " (" + t.parent_id.substr(0, 16) + ")");
  row("Created", t.created + " (" + format_age(t.created, now) + " ago)");
  row("Size",
      format_size(t.size_bytes) + (t.kind == "layer" ? " on disk (the delta only)" : " on disk"));
  if (!t.source.empty()) row("Source", t.source);
  if (!t.inputs.empty()) row("Inputs", t.inputs);
  if (!t.user.empty()) row("User", t.user);
  if (!t.working_dir.empty()) row("Workdir", t.working_dir);
  for (auto& e : t.env) row("Env", e);
  row("Used by", used_by(t));
  return out;
}

int Commands::template_ls(bool json) {
  auto& c = daemon();
  if (json) {
    con_.out << check(c.templates_json()) << "\n";
    return 0;
  }
  con_.out << format_template_table(check(c.templates()), now_seconds());
  return 0;
}

int Commands::template_inspect(const std::string& tag, bool json) {
  auto& c = daemon();
  auto t = check(c.template_info(tag));
  if (json)
    con_.out << proto::dump_json(nlohmann::json::parse(proto::to_json(t)), 2) << "\n";
  else
    con_.out << format_template(t, now_seconds());
  return 0;
}

int Commands::template_rm(const std::vector<std::string>& tags) {
  auto& c = daemon();
  int rc = 0;
  for (auto& t : tags) {
    if (auto r = c.remove_template(t)) {
      con_.out << t << "\n";
    } else {
      con_.err << format_error(r.error().message);
      rc = kExitFailure;
    }
  }
  return rc;
}

int Commands::template_save(const std::string& sandbox, const std::string& tag, bool stop, bool yes,
                            const std::string& output) {
  // The daemon writes the file: it gets an absolute path, checked here
  // first so a typo never stops a sandbox for nothing.
  std::string out;
  if (!output.empty()) {
    auto abs = absolute_path(output);
    if (!abs) throw Failure{"cannot use '" + output + "': " + abs.error().message};
    out = *abs;
    auto slash = out.rfind('/');
    std::string dir = slash == 0 ? "/" : out.substr(0, slash);
    if (is_directory(out))
      throw Failure{"'" + output + "' is a directory; name the archive file, e.g. " + output +
                    "/template.tar"};
    if (!is_directory(dir)) throw Failure{"cannot write '" + output + "': no directory " + dir};
  }
  auto& c = daemon();
  auto s = check(c.get(sandbox), sandbox);
  con_.err << "WARNING: the template captures everything written inside sandbox '" << sandbox
           << "', credentials and tokens included; whoever gets the template gets them.\n";
  if (s.status == "running" || s.status == "starting") {
    if (!stop) {
      if (!is_terminal(con_.io.in) && !yes)
        throw Failure{"sandbox '" + sandbox +
                      "' is running; saving stops it first: pass --stop to allow that"};
      if (!confirmed("Sandbox '" + sandbox + "' is running. Stop it to save it?", yes,
                     "Pass --stop to stop it without asking.")) {
        con_.err << "Cancelled.\n";
        return 1;
      }
    }
    stop = true;
  }
  proto::SaveTemplateRequest req{sandbox, tag, stop, out};
  auto t = check(
      c.save_template(req, [this](const std::string& l) { print_progress(con_.err, l); }), sandbox);
  con_.out << "Saved template '" << t.tag << "' (" << format_size(t.size_bytes)
           << " on disk, over '" << t.parent << "'). Use it with: sbx create -t " << t.tag
           << " AGENT PATH\n";
  if (!out.empty())
    con_.out << "Wrote " << out << "; load it elsewhere with: sbx template load " << out << "\n";
  return 0;
}

void add_template_commands(CLI::App& app, Commands& cmds, std::function<int()>& action) {
  auto* tmpl = app.add_subcommand("template", "Manage templates: base images and saved layers");
  tmpl->require_subcommand(1);
  tmpl->footer(
      "Examples:\n  sbx template ls\n  sbx template save shell-myproject myproject:v1 --stop\n"
      "  sbx create -t myproject:v1 shell .\n  sbx template rm myproject:v1\n"
      "  sbx template save shell-myproject myproject:v2 --stop -o myproject.tar\n"
      "  sbx template load myproject.tar");

  struct Args {
    bool json = false, stop = false, yes = false;
    std::string tag, sandbox, output;
    std::vector<std::string> tags;
  };
  auto a = std::make_shared<Args>();

  auto* ls = tmpl->add_subcommand("ls", "List templates: tag, parent, size on disk, age, users");
  ls->alias("list");
  ls->add_flag("--json", a->json, "Print the list as JSON");
  ls->callback([&, a] { action = [&, a] { return cmds.template_ls(a->json); }; });

  auto* inspect = tmpl->add_subcommand("inspect", "Show a template's details");
  inspect->add_flag("--json", a->json, "Print the details as JSON");
  inspect->add_option("TAG", a->tag, "Template tag")->required();
  inspect->callback([&, a] { action = [&, a] { return cmds.template_inspect(a->tag, a->json); }; });

  auto* rm = tmpl->add_subcommand(
      "rm", "Remove templates (refused while a sandbox or another template uses one)");
  rm->add_option("TAG", a->tags, "Template tags")->required();
  rm->callback([&, a] { action = [&, a] { return cmds.template_rm(a->tags); }; });

  auto add_save = [&, a](CLI::App* save) {
    save->add_flag("--stop", a->stop, "Stop the sandbox first if it is running (else sbx asks)");
    save->add_flag("-y,--yes", a->yes, "Answer yes to the question whether to stop it");
    save->add_option("SANDBOX", a->sandbox, "Sandbox to save")->required();
    save->add_option("TAG", a->tag, "New template tag, e.g. myproject:v1")->required();
    save->add_option("-o,--output", a->output,
                     "Also write the template to FILE.tar (its image flattened), for 'sbx "
                     "template load' here or on another machine");
    save->callback([&, a] {
      action = [&, a] {
        return cmds.template_save(a->sandbox, a->tag, a->stop, a->yes, a->output);
      };
    });
  };
  add_save(tmpl->add_subcommand(
      "save", "Save a sandbox's disk as a template layer (only the changes are stored)"));
  auto* save = app.add_subcommand(
      "save",
      "Save a snapshot of the sandbox as a template (the current name is 'sbx template "
      "save')");
  add_save(save);
  save->footer(
      "Same as 'sbx template save', its current name.\nExample:\n  sbx save "
      "shell-myproject myproject:v1 --stop");
}

}  // namespace sbx::cli
