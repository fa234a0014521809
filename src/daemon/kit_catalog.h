// TEMPORARY kit lookup until the kit parser (branch `kits`, src/kit) lands:
// `shell` (no install, the base template) and, when sandboxd runs with
// SBX_TEST_KITS=1, `sbx-test`, a kit whose install steps make and install a
// small Debian package offline (the VM tests build its layer).
// The kit catalog plugs in here: replace builtin_kit() by the parser's
// lookup (built-in kits/<name>/kit.yaml, then --kit DIR), keeping the
// KitLookup signature that sandboxd's main.cc hands to the manager and the
// template service.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "kit/kit.h"

namespace sbx::daemon {

/// Finds a kit by name; nullopt for an unknown one.
using KitLookup = std::function<std::optional<kit::Kit>(const std::string& name)>;

/// The built-in kits this build knows (see the file comment).
std::optional<kit::Kit> builtin_kit(const std::string& name, bool test_kits);
/// Their names, for "unknown agent" messages.
std::vector<std::string> builtin_kit_names(bool test_kits);

}  // namespace sbx::daemon
