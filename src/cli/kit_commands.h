// `sbx kit ls|inspect|validate`, and `sbx blueprint ...`, the same commands
// under the name the original article used. Kits are files shipped with sbx
// (or a user's directory), so these read them here, without the daemon:
// the CLI and sandboxd find the built-in kits by the same rule
// (kit/kit_catalog.h), beside their binaries or in $SBX_KITS_DIR.
#pragma once

#include <functional>
#include <string>

#include "cli/app.h"
#include "kit/kit.h"

namespace CLI {
class App;
}

namespace sbx::cli {

/// Adds `kit` and its alias `blueprint` to `app`; a parsed command sets
/// `action`. Failures are thrown as Failure (see commands.h).
void add_kit_commands(CLI::App& app, Console& con, std::function<int()>& action);

/// `sbx kit ls`: NAME KIND PARENT DESCRIPTION, broken kits reported on
/// stderr; `json`: {"dir", "kits": [...], "problems": [...]}.
int kit_ls(Console& con, bool json);
/// `sbx kit inspect NAME|DIR`.
int kit_inspect(Console& con, const std::string& name_or_dir, bool json);
/// `sbx kit validate DIR`: 0 when valid; 1 with one "FILE:LINE:COL: ..."
/// line per problem on stderr otherwise.
int kit_validate(Console& con, const std::string& dir);

/// A kit as "Key: value" lines, for `sbx kit inspect`.
std::string format_kit(const kit::Kit& k);
/// A kit as JSON text (pretty when `indent` >= 0).
std::string kit_json(const kit::Kit& k, int indent = 2);

}  // namespace sbx::cli
