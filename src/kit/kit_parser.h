// Reads a kit directory (kit.yaml, plus the files its `files:` entries name
// with `source:`) into a Kit, validating strictly: unknown keys, wrong
// types, missing fields, bad names and bad entries are errors naming the
// file, line and column. Kits come from users and downloads, so every size
// and count is bounded before anything is kept.
//
// kit.yaml (docs/kits.md has the full reference):
//   name: claude                 # required, [a-z][a-z0-9-]*, at most 32
//   kind: agent                  # required: agent | sandbox
//   description: Claude Code     # one line
//   parent: shell                # template this kit's layer builds on
//   node: "22.23.5"              # a pinned Node.js (node_runtime.h)
//   install: [npm install -g @anthropic-ai/claude-code@2.1.332]
//   env: {DISABLE_AUTOUPDATER: "1"}
//   files: [{path: ~/.config/x, content: "...", mode: "0644"}]  # or source: FILE
//   entry: [claude, --dangerously-skip-permissions]            # required
//   allow: [api.anthropic.com]
//   credentials: [{service: anthropic, env: ANTHROPIC_API_KEY,
//                  domains: [api.anthropic.com], header: x-api-key}]
//   host_config: [.claude/settings.json, .claude/agents/]
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

#include "base/result.h"
#include "kit/kit.h"

namespace sbx::kit {

/// Bounds on a kit's input.
inline constexpr size_t kMaxKitYamlBytes = 64 * 1024;
inline constexpr size_t kMaxKitFileBytes = 256 * 1024;    ///< one files[].source
inline constexpr size_t kMaxKitTotalBytes = 1024 * 1024;  ///< everything kept
inline constexpr size_t kMaxKitErrors = 20;               ///< reported, then "..."

/// Parses kit.yaml text. `source` names it in messages ("DIR/kit.yaml");
/// `dir` is where `files[].source` are read from (empty: `source:` is an
/// error). On failure the error's message holds one line per problem,
/// each "FILE:LINE:COL: what is wrong and what to write instead", and its
/// code is kBadRequest.
Result<Kit> parse_kit(std::string_view yaml, const std::string& source,
                      const std::string& dir = "");

/// A kit directory's bytes as they were read and checked: what a copy of
/// the kit holds (`sbx create --kit` sends them to sandboxd).
struct KitSources {
  std::string yaml;                          ///< kit.yaml
  std::map<std::string, std::string> files;  ///< each `source:` file, by its relative path
};

/// Reads DIR/kit.yaml (at most kMaxKitYamlBytes) and the files it names.
/// The Kit's `source` is the kit.yaml's path. With `sources`, a valid kit's
/// bytes are also put there.
Result<Kit> load_kit_dir(const std::string& dir, KitSources* sources = nullptr);

/// Whether `name` is a valid kit name: 1-32 of [a-z0-9-], starting with a
/// letter, not ending with '-'. It becomes a template tag and a sandbox
/// name prefix.
bool valid_kit_name(std::string_view name);

}  // namespace sbx::kit
