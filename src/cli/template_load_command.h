// `sbx template load FILE.tar [TAG]`: the CLI11 wiring, kept in its own
// file so the `template` command group can take it in as one call.
#pragma once

#include <functional>

namespace CLI {
class App;
}

namespace sbx::cli {

class Commands;

/// Adds `load` under the `template` command group; on use it sets `action`.
void add_template_load_command(CLI::App* template_group, Commands& cmds,
                               std::function<int()>& action);

}  // namespace sbx::cli
