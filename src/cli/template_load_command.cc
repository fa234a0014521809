// `sbx template load`: asks the daemon to import a container image archive
// as a template, and says what it made.
#include "cli/template_load_command.h"

#include <CLI/CLI.hpp>
#include <memory>

#include "base/files.h"
#include "base/strings.h"
#include "cli/commands.h"
#include "proto/json_util.h"
#include "proto/template_load.h"

namespace sbx::cli {

int Commands::template_load(const std::string& file, const std::string& tag, bool json) {
  auto abs = absolute_path(file);
  if (!abs || !path_exists(*abs)) throw Failure{"cannot read '" + file + "': no such file"};
  proto::TemplateLoadRequest req{*abs, tag};
  if (!json) con_.err << "Loading " << *abs << " (this takes a while for large images)...\n";
  auto r = daemon().request("POST", "/v1/templates/load", proto::to_json(req),
                            client::ApiClient::kLongTimeout);
  if (!r) throw Failure{r.error().message};
  auto t = check(proto::parse_loaded_template_info(r->body));
  if (json) {
    con_.out << proto::dump_json(nlohmann::json::parse(r->body), 2) << "\n";
    return 0;
  }
  con_.out << (t.reused ? "Template '" + t.name + "' is already loaded"
                        : "Loaded template '" + t.name + "'")
           << " (" << t.format << " image " << t.image_id.substr(0, 19) << ", "
           << format_size(t.size_bytes) << ")\n";
  if (!t.user.empty()) con_.out << "  image user: " << t.user << "\n";
  if (!t.working_dir.empty()) con_.out << "  working dir: " << t.working_dir << "\n";
  return 0;
}

void add_template_load_command(CLI::App* group, Commands& cmds, std::function<int()>& action) {
  struct Args {
    std::string file, tag;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  auto* load = group->add_subcommand(
      "load", "Import a Docker image archive (docker save) or an OCI image layout tarball");
  load->add_option("FILE", a->file, "The .tar file")->required();
  load->add_option("TAG", a->tag, "Template name (default: the archive's own tag)");
  load->add_flag("--json", a->json, "Print the loaded template as JSON");
  load->footer(
      "Examples:\n  docker save myimage:latest -o myimage.tar && sbx template load myimage.tar\n"
      "  sbx template load image-oci.tar mytemplate");
  load->callback([&cmds, &action, a] {
    action = [&cmds, a] { return cmds.template_load(a->file, a->tag, a->json); };
  });
}

}  // namespace sbx::cli
