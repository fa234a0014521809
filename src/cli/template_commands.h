// `sbx template ls|inspect|rm|save` and the `sbx save` alias: wiring and
// bodies (template_commands.cc), and the table `template ls` prints.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "proto/template_api.h"

namespace sbx::cli {

/// "3 minutes", "2 hours", "5 days" between RFC 3339 `created` and `now`
/// (seconds since the epoch); "?" when `created` does not parse.
std::string format_age(const std::string& created, int64_t now);
/// The `template ls` table: TAG, PARENT, SIZE, AGE, USED BY.
std::string format_template_table(const std::vector<proto::TemplateInfo>& list, int64_t now);
/// `template inspect` without --json.
std::string format_template(const proto::TemplateInfo& t, int64_t now);

/// Adds `template` (and the `save` alias) to `app`; a chosen command sets
/// `action`.
void add_template_commands(CLI::App& app, Commands& cmds, std::function<int()>& action);

}  // namespace sbx::cli
