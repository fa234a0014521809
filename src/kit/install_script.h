// The script a template build runs, as root, in a sandbox booted from the
// kit's parent: the pinned Node.js the kit asks for, then its install steps
// in order. One function so the template builder and `sbx kit inspect` show
// the same thing, and so the script is part of the build's cache key.
#pragma once

#include <string>

#include "base/result.h"
#include "kit/kit.h"

namespace sbx::kit {

/// A bash script (set -euo pipefail) that installs `k.node` (when set) and
/// runs `k.install` step by step, printing "sbx: step N/M: ..." before each
/// so the build's log and progress show where it is. Empty when the kit has
/// nothing to install. Fails only for a `node` version sbx has no pin for
/// (the parser already refuses those).
Result<std::string> install_script(const Kit& k);

}  // namespace sbx::kit
