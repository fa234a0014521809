// `sbx cp`: copies a file or directory tree between the host and a sandbox.
// Built entirely on the exec API: a tar stream is piped through an exec of
// `tar` in the guest, so the daemon needs no route of its own and the copy
// goes the one way everything else does. Semantics follow `docker cp`: an
// existing directory as destination receives the source inside it; any
// other destination becomes the source's new name.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "client/api_client.h"

namespace sbx::cli {

/// Exit code of the guest archive script when the source does not exist
/// (EX_NOINPUT), so sbx can say so instead of showing tar's noise.
inline constexpr int kCopyMissingSource = 66;

/// One `sbx cp` request: exactly one side is in a sandbox.
struct CopySpec {
  bool to_sandbox = false;  ///< host -> sandbox
  std::string sandbox;
  std::string guest_path;   ///< absolute, or relative to the user's home
  std::string host_path;    ///< as given on the command line
};

/// Splits "NAME:PATH" into {NAME, PATH} when it names a path in a sandbox.
/// Paths starting with '/' or '.' are always host paths (docker's rule), as
/// is anything whose part before ':' is not a valid sandbox name.
std::optional<std::pair<std::string, std::string>> split_sandbox_path(const std::string& arg);

/// Validates SRC and DST; exactly one must be SANDBOX:PATH.
Result<CopySpec> parse_copy_args(const std::string& src, const std::string& dst);

/// Lexical dirname/basename of a path, trailing slashes ignored
/// ("/a/b/" -> {"/a", "b"}, "b" -> {".", "b"}).
std::pair<std::string, std::string> split_parent(const std::string& path);

/// Guest argv that reads a tar holding the single entry `name` on stdin and
/// lands it at `dst`: inside `dst` when that is a directory (or ends in
/// '/', created then), else as `dst` itself (parents created).
std::vector<std::string> guest_extract_command(const std::string& name, const std::string& dst);

/// Guest argv that writes a tar of `path` (symlinks kept, numeric owners)
/// to stdout, or exits kCopyMissingSource when it does not exist.
std::vector<std::string> guest_archive_command(const std::string& path);

/// Performs the copy. tar's own complaints go to `err_fd`. Errors are
/// phrased for the user; an exec failure leaves details in
/// `client.last_failure()`.
Result<void> run_copy(client::ApiClient& client, const CopySpec& spec, int err_fd);

}  // namespace sbx::cli
