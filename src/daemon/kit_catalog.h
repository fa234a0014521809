// The kits sandboxd knows: the built-in catalog (kit::KitCatalog, the
// kits/<name>/kit.yaml files shipped with sbx), then kits compiled in here:
// `shell` (no install, the base template) as a fallback when the catalog is
// missing, and, only when sandboxd runs with SBX_TEST_KITS=1, `sbx-test`, a
// kit whose install steps make and install a small Debian package offline
// (the VM suites build its layer without the npm registry).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kit/kit.h"
#include "kit/kit_catalog.h"

namespace sbx::daemon {

/// Finds a kit by name; nullopt for an unknown one.
using KitLookup = std::function<std::optional<kit::Kit>(const std::string& name)>;

/// The built-in kits this build knows (see the file comment).
std::optional<kit::Kit> builtin_kit(const std::string& name, bool test_kits);
/// Their names, for "unknown agent" messages.
std::vector<std::string> builtin_kit_names(bool test_kits);

/// `k` as a build runs it: a kit that pins Node gets one install step that
/// runs kit::install_script (Node from the npm registry, then the kit's own
/// steps); nullopt for a pin install_script does not know.
std::optional<kit::Kit> with_install_script(kit::Kit k);

/// The lookup sandboxd uses: `catalog` (nullable) first, then builtin_kit().
/// A kit that pins Node gets one install step that runs kit::install_script
/// (Node from the npm registry, then the kit's own steps).
KitLookup make_kit_lookup(std::shared_ptr<const kit::KitCatalog> catalog, bool test_kits);
/// Every name make_kit_lookup answers for, sorted, without duplicates.
std::vector<std::string> kit_names(const kit::KitCatalog* catalog, bool test_kits);

}  // namespace sbx::daemon
