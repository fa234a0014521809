// Where kits are found: the built-in kits shipped with sbx (one directory
// per kit, DIR/<name>/kit.yaml), and a user's kit named by directory
// (`--kit DIR`, `sbx kit inspect ./dir`).
//
// The built-in directory is, in order:
//   1. $SBX_KITS_DIR, when set (it must exist);
//   2. EXE/../share/sbx/kits, EXE being the directory of the running sbx or
//      sandboxd: /usr/local/bin/sbx finds /usr/local/share/sbx/kits, and
//      build/bin/sbx finds build/share/sbx/kits, which the build links to
//      the source tree's kits/.
// The CLI and the daemon apply the same rule next to the same binaries, so
// they see the same kits.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "kit/kit.h"

namespace sbx::kit {

/// The built-in kits' directory by the rule above, from `env_override`
/// ($SBX_KITS_DIR, may be null) and `exe_dir`.
Result<std::string> builtin_kits_dir(const char* env_override, const std::string& exe_dir);
/// The same, from the environment and /proc/self/exe.
Result<std::string> builtin_kits_dir();

/// The kits in one directory, parsed once.
class KitCatalog {
 public:
  /// Reads every DIR/<name>/kit.yaml. A kit that does not parse, or whose
  /// name differs from its directory's, is left out and listed in
  /// problems(); only a missing or unreadable DIR fails.
  static Result<KitCatalog> open(const std::string& dir);
  /// open(builtin_kits_dir()).
  static Result<KitCatalog> open_builtin();

  /// Valid kits, sorted by name.
  const std::vector<Kit>& kits() const { return kits_; }
  /// One message per kit left out, naming its file and line.
  const std::vector<std::string>& problems() const { return problems_; }
  /// The directory read.
  const std::string& dir() const { return dir_; }
  /// The kit called `name`, or nullptr.
  const Kit* find(std::string_view name) const;
  /// Names of the valid kits.
  std::vector<std::string> names() const;

  /// A kit by NAME (from this catalog) or by DIR: anything with a '/' or
  /// starting with '.' is a directory (so `sbx kit inspect ./claude` reads
  /// the directory, `claude` the built-in).
  Result<Kit> resolve(const std::string& name_or_dir) const;

 private:
  std::string dir_;
  std::vector<Kit> kits_;
  std::vector<std::string> problems_;
};

/// Whether `arg` names a kit directory rather than a kit name.
bool names_a_directory(std::string_view arg);

}  // namespace sbx::kit
