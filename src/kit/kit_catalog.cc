#include "kit/kit_catalog.h"

#include <algorithm>
#include <cstdlib>

#include "base/files.h"
#include "base/strings.h"
#include "kit/kit_parser.h"

namespace sbx::kit {

Result<std::string> builtin_kits_dir(const char* env_override, const std::string& exe_dir) {
  if (env_override && *env_override) {
    if (!is_directory(env_override))
      return err(kNotFound, std::string("SBX_KITS_DIR is '") + env_override +
                                "', which is not a directory; point it at a directory of kits "
                                "or unset it");
    return absolute_path(env_override);
  }
  std::string dir = exe_dir + "/../share/sbx/kits";
  if (!is_directory(dir))
    return err(kNotFound, "no built-in kits at " + dir +
                              " (sbx looks beside its binary); set SBX_KITS_DIR to a directory "
                              "of kits, such as the source tree's kits/");
  return absolute_path(dir);
}

Result<std::string> builtin_kits_dir() {
  auto exe = self_exe_dir();
  if (!exe) return exe.error();
  return builtin_kits_dir(std::getenv("SBX_KITS_DIR"), *exe);
}

bool names_a_directory(std::string_view arg) {
  return arg.find('/') != std::string_view::npos || starts_with(arg, ".");
}

Result<KitCatalog> KitCatalog::open(const std::string& dir) {
  auto names = list_dir(dir);
  if (!names) return names.error().wrap("kits");
  std::sort(names->begin(), names->end());
  KitCatalog c;
  c.dir_ = dir;
  for (auto& n : *names) {
    std::string sub = dir + "/" + n;
    if (n[0] == '.' || !is_directory(sub)) continue;  // READMEs and the like
    auto k = load_kit_dir(sub);
    if (!k) {
      c.problems_.push_back(k.error().message);
      continue;
    }
    if (k->name != n) {
      c.problems_.push_back(k->source + ": kit '" + k->name + "' is in directory '" + n +
                            "'; a built-in kit's directory is its name");
      continue;
    }
    c.kits_.push_back(std::move(*k));
  }
  return c;
}

Result<KitCatalog> KitCatalog::open_builtin() {
  auto dir = builtin_kits_dir();
  if (!dir) return dir.error();
  return open(*dir);
}

const Kit* KitCatalog::find(std::string_view name) const {
  for (auto& k : kits_)
    if (k.name == name) return &k;
  return nullptr;
}

std::vector<std::string> KitCatalog::names() const {
  std::vector<std::string> out;
  for (auto& k : kits_) out.push_back(k.name);
  return out;
}

Result<Kit> KitCatalog::resolve(const std::string& name_or_dir) const {
  if (names_a_directory(name_or_dir)) return load_kit_dir(name_or_dir);
  if (const Kit* k = find(name_or_dir)) return *k;
  std::string msg = "no kit '" + name_or_dir + "'; built-in kits: " + join(names(), ", ") +
                    ". A kit in a directory is named by its path, e.g. ./" + name_or_dir;
  for (auto& p : problems_)
    if (p.find("/" + name_or_dir + "/kit.yaml") != std::string::npos)
      msg = "kit '" + name_or_dir + "' is broken:\n" + p;
  return err(kNotFound, msg);
}

}  // namespace sbx::kit
