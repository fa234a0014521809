// The kits users bring (`sbx create --kit DIR`): each sandbox made from one
// keeps its own copy in STATE/kits/<SANDBOX>/ (kit.yaml and the files it
// names), written from the bytes the CLI sent and parsed again here with
// the kit parser (the peer may be hostile: proto/kit_bundle.h bounds the
// bytes, the parser everything else). The copies are loaded again when
// sandboxd starts and deleted with their sandbox.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/log.h"
#include "base/result.h"
#include "kit/kit.h"
#include "proto/kit_bundle.h"

namespace sbx::daemon {

class UserKits {
 public:
  /// A kit checked and written to a staging directory under the kits
  /// directory, not yet any sandbox's; the directory goes with it unless
  /// attach() took it.
  class Staged {
   public:
    Staged(Staged&& o) noexcept : dir_(std::move(o.dir_)), kit_(std::move(o.kit_)) {
      o.dir_.clear();
    }
    Staged& operator=(Staged&&) = delete;
    Staged(const Staged&) = delete;
    ~Staged();
    /// The kit as parsed from the staged copy.
    const kit::Kit& kit() const { return kit_; }

   private:
    friend class UserKits;
    Staged(std::string dir, kit::Kit k) : dir_(std::move(dir)), kit_(std::move(k)) {}
    std::string dir_;
    kit::Kit kit_;
  };

  /// The kits under `dir` (STATE/kits, created 0700): the copies already
  /// there are loaded; one that no longer parses is logged and left out,
  /// and a staging directory a crash left behind is removed.
  UserKits(std::string dir, Logger& log);

  /// Writes `bundle` to a staging directory and parses it there. A kit
  /// that does not parse is kBadRequest with its "kit.yaml:LINE:COL: ..."
  /// messages.
  Result<Staged> stage(const proto::KitBundle& bundle);
  /// Makes `staged` the kit of sandbox `sandbox` (its directory renamed to
  /// DIR/<sandbox>). A sandbox has at most one kit: an old copy is replaced.
  Result<void> attach(Staged& staged, const std::string& sandbox);
  /// The kit of sandbox `sandbox`, if it was made from a user's kit.
  std::optional<kit::Kit> find(const std::string& sandbox) const;
  /// Deletes sandbox `sandbox`'s kit, if it has one.
  Result<void> remove(const std::string& sandbox);
  /// The sandboxes that have a kit here, sorted.
  std::vector<std::string> sandboxes() const;
  /// Where a sandbox's copy lives.
  std::string dir_of(const std::string& sandbox) const { return dir_ + "/" + sandbox; }

 private:
  void load();

  std::string dir_;
  Logger& log_;
  mutable std::mutex mu_;
  std::map<std::string, kit::Kit> kits_;
};

}  // namespace sbx::daemon
