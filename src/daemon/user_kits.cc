#include "daemon/user_kits.h"

#include <stdio.h>
#include <stdlib.h>

#include "base/files.h"
#include "base/strings.h"
#include "kit/kit_parser.h"
#include "proto/api.h"

namespace sbx::daemon {

namespace {

constexpr char kStagingPrefix[] = ".staging-";

// A sandbox name is also a directory name here; the API's rule keeps it
// one path component (and never "." or ".."), checked again anyway.
bool usable_name(const std::string& sandbox) {
  return proto::validate_sandbox_name(sandbox) && sandbox[0] != '.';
}

}  // namespace

UserKits::Staged::~Staged() {
  if (!dir_.empty()) (void)remove_tree(dir_);
}

UserKits::UserKits(std::string dir, Logger& log) : dir_(std::move(dir)), log_(log) { load(); }

void UserKits::load() {
  if (auto r = make_dirs(dir_, 0700); !r) {
    log_.warn("user kits: " + r.error().message);
    return;
  }
  auto names = list_dir(dir_);
  if (!names) {
    log_.warn("user kits: " + names.error().message);
    return;
  }
  std::lock_guard l(mu_);
  for (auto& n : *names) {
    std::string path = dir_ + "/" + n;
    if (starts_with(n, kStagingPrefix)) {
      (void)remove_tree(path);  // a create that never finished
      continue;
    }
    if (!usable_name(n) || !is_directory(path)) continue;
    auto k = kit::load_kit_dir(path);
    if (!k) {
      log_.warn("kit of sandbox " + n + " left out: " + k.error().message);
      continue;
    }
    kits_[n] = std::move(*k);
  }
  if (!kits_.empty())
    log_.info("loaded " + std::to_string(kits_.size()) + " user kit(s) from " + dir_);
}

Result<UserKits::Staged> UserKits::stage(const proto::KitBundle& bundle) {
  if (auto r = make_dirs(dir_, 0700); !r) return r.error().wrap("kits");
  std::string tmpl = dir_ + "/" + kStagingPrefix + "XXXXXX";
  if (!::mkdtemp(tmpl.data())) return errno_error("mkdtemp " + tmpl);
  // Owned from here: every failure below removes it.
  Staged staged(tmpl, {});
  for (auto& [rel, data] : bundle.files) {
    if (!proto::valid_bundle_path(rel))
      return err(kBadRequest, "kit file path '" + rel + "' is not inside the kit's directory");
    std::string path = tmpl + "/" + rel;
    if (auto r = make_dirs(path.substr(0, path.rfind('/')), 0700); !r)
      return err(kBadRequest, "kit file '" + rel + "': " + r.error().message);
    if (auto r = write_file_atomic(path, data, 0600); !r)
      return err(kBadRequest, "kit file '" + rel + "': " + r.error().message);
  }
  if (auto r = write_file_atomic(tmpl + "/kit.yaml", bundle.yaml, 0600); !r) return r.error();
  // Named "kit.yaml" in messages: the staging path means nothing to the user.
  auto k = kit::parse_kit(bundle.yaml, "kit.yaml", tmpl);
  if (!k) return err(kBadRequest, "the kit is not valid:\n" + k.error().message);
  staged.kit_ = std::move(*k);
  return staged;
}

Result<void> UserKits::attach(Staged& staged, const std::string& sandbox) {
  if (!usable_name(sandbox)) return err(kBadRequest, "bad sandbox name '" + sandbox + "'");
  if (staged.dir_.empty()) return err("the kit was attached already");
  std::string dest = dir_of(sandbox);
  std::lock_guard l(mu_);
  (void)remove_tree(dest);  // a sandbox of this name that is gone kept it
  if (::rename(staged.dir_.c_str(), dest.c_str()) != 0)
    return errno_error("keep the kit of sandbox '" + sandbox + "' in " + dest);
  staged.dir_.clear();
  kit::Kit k = staged.kit_;
  k.source = dest + "/kit.yaml";
  kits_[sandbox] = std::move(k);
  return ok();
}

std::optional<kit::Kit> UserKits::find(const std::string& sandbox) const {
  std::lock_guard l(mu_);
  auto it = kits_.find(sandbox);
  if (it == kits_.end()) return std::nullopt;
  return it->second;
}

Result<void> UserKits::remove(const std::string& sandbox) {
  if (!usable_name(sandbox)) return ok();
  std::lock_guard l(mu_);
  kits_.erase(sandbox);
  return remove_tree(dir_of(sandbox));
}

std::vector<std::string> UserKits::sandboxes() const {
  std::lock_guard l(mu_);
  std::vector<std::string> out;
  for (auto& [name, k] : kits_) out.push_back(name);
  return out;
}

}  // namespace sbx::daemon
