#include "cli/copy.h"

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>

#include "base/child_process.h"
#include "base/fd.h"
#include "base/files.h"
#include "base/strings.h"
#include "cli/exec_session.h"
#include "proto/api.h"

namespace sbx::cli {

namespace {

// Guest side, run by sh with $1/$2 as arguments so no path is ever spliced
// into shell text. Into an existing directory tar extracts straight there
// (merging like docker cp); otherwise it extracts into a private temporary
// directory next to the destination and renames, so a half-done copy never
// appears under the destination's name.
constexpr const char* kExtractScript = R"(name=$1 dst=$2
case $dst in */) mkdir -p -- "$dst" || exit 1 ;; esac
if [ -d "$dst" ]; then exec tar -x -p -f - -C "$dst"; fi
parent=$(dirname -- "$dst")
mkdir -p -- "$parent" || exit 1
tmp=$(mktemp -d -- "$parent/.sbx-cp.XXXXXX") || exit 1
if ! tar -x -p -f - -C "$tmp"; then rm -rf -- "$tmp"; exit 1; fi
mv -f -T -- "$tmp/$name" "$dst"
rc=$?
rm -rf -- "$tmp"
exit $rc)";

constexpr const char* kArchiveScript = R"([ -e "$1/$2" ] || [ -L "$1/$2" ] || exit 66
exec tar -c -f - --numeric-owner -C "$1" -- "$2")";

// Absolute and lexically normal, without resolving symlinks: copying a
// symlink copies the link, as tar and docker cp do.
std::string lexical_absolute(const std::string& p) {
  std::error_code ec;
  auto abs = std::filesystem::absolute(p, ec).lexically_normal().string();
  if (ec) return p;
  while (abs.size() > 1 && abs.back() == '/') abs.pop_back();
  return abs;
}

bool exists_nofollow(const std::string& p) {
  struct stat st;
  return ::lstat(p.c_str(), &st) == 0;
}

// A directory made next to the destination (same file system, so the final
// rename is atomic), removed with whatever is left in it.
class ScratchDir {
 public:
  static Result<ScratchDir> create(const std::string& parent) {
    std::string tmpl = parent + "/.sbx-cp-XXXXXX";
    if (!::mkdtemp(tmpl.data())) return errno_error("cannot create a temporary directory in " + parent);
    return ScratchDir(std::move(tmpl));
  }
  ScratchDir(ScratchDir&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ScratchDir& operator=(ScratchDir&&) = delete;
  ~ScratchDir() {
    if (!path_.empty()) (void)remove_tree(path_);
  }
  const std::string& path() const { return path_; }

 private:
  explicit ScratchDir(std::string p) : path_(std::move(p)) {}
  std::string path_;
};

// The archive came from the guest, which is untrusted: never let it plant
// setuid/setgid files on the host (sbx may run as root).
int drop_special_bits(const char* path, const struct stat* st, int type, FTW*) {
  if ((type == FTW_F || type == FTW_D || type == FTW_DP) && (st->st_mode & (S_ISUID | S_ISGID)))
    ::chmod(path, st->st_mode & 07777 & ~(S_ISUID | S_ISGID));
  return 0;
}

std::string describe_tar(const ExitStatus& s) { return "tar " + s.describe(); }

// An anonymous file for a child's stderr, shown only if it matters: a
// missing source in the guest leaves the host tar complaining about an
// empty archive, which would only confuse.
Fd scratch_log() { return Fd(::open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)); }

void replay_log(const Fd& log, int err_fd) {
  if (!log || ::lseek(log.get(), 0, SEEK_SET) != 0) return;
  while (auto chunk = read_some(log.get(), 65536)) {
    if (chunk->empty()) break;
    (void)write_all(err_fd, *chunk);
  }
}

Result<void> copy_to_sandbox(client::ApiClient& client, const CopySpec& spec, int err_fd) {
  std::string src = lexical_absolute(spec.host_path);
  if (!exists_nofollow(src)) return err("source path '" + spec.host_path + "' does not exist");
  auto [parent, name] = split_parent(src);
  if (name.empty()) return err("cannot copy '" + spec.host_path + "': it has no name");
  auto pipe = make_pipe();
  if (!pipe) return pipe.error();
  SpawnOptions so;
  so.argv = {"tar", "-c", "-f", "-", "--numeric-owner", "-C", parent, "--", name};
  so.stdout_fd = pipe->second.get();
  so.stderr_fd = err_fd;
  auto tar = ChildProcess::spawn(so);
  if (!tar) return tar.error().wrap("cannot run tar on the host");
  pipe->second.reset();

  proto::ExecRequest req;
  req.argv = guest_extract_command(name, spec.guest_path);
  auto stream = client.exec(spec.sandbox, req);
  if (!stream) return stream.error();
  ExecSessionOptions o;
  o.forward_stdin = true;
  ExecSession session(std::move(*stream), ExecIo{pipe->first.get(), err_fd, err_fd}, o);
  auto code = session.run();
  pipe->first.reset();  // a guest that quit early must not leave tar blocked
  auto st = tar->wait();
  if (!code) return code.error();
  if (!st) return st.error();
  if (*code != 0)
    return err("copying into sandbox '" + spec.sandbox + "' failed (tar in the sandbox exited " +
               std::to_string(*code) + ")");
  if (!st->exited || st->code != 0) return err("reading '" + spec.host_path + "' failed: " + describe_tar(*st));
  return ok();
}

Result<void> copy_from_sandbox(client::ApiClient& client, const CopySpec& spec, int err_fd) {
  auto [gparent, gname] = split_parent(spec.guest_path);
  if (gname.empty() || gname == "." || gname == "..")
    return err("cannot copy '" + spec.sandbox + ":" + spec.guest_path + "': name a file or directory");
  bool slash = ends_with(spec.host_path, "/");
  std::string dst = lexical_absolute(spec.host_path);
  if (slash && !path_exists(dst))
    if (auto r = make_dirs(dst); !r) return r.error();
  // An existing directory receives the copy; anything else is the new name.
  bool into = is_directory(dst);
  std::string final_path = into ? dst + "/" + gname : dst;
  std::string parent = into ? dst : split_parent(dst).first;
  if (auto r = make_dirs(parent); !r) return r.error();
  auto scratch = ScratchDir::create(parent);
  if (!scratch) return scratch.error();

  auto pipe = make_pipe();
  if (!pipe) return pipe.error();
  SpawnOptions so;
  so.argv = {"tar", "-x", "-p", "--no-same-owner", "-f", "-", "-C", scratch->path()};
  so.stdin_fd = pipe->first.get();
  Fd tar_log = scratch_log();
  so.stderr_fd = tar_log ? tar_log.get() : err_fd;
  auto tar = ChildProcess::spawn(so);
  if (!tar) return tar.error().wrap("cannot run tar on the host");
  pipe->first.reset();

  proto::ExecRequest req;
  req.argv = guest_archive_command(spec.guest_path);
  auto stream = client.exec(spec.sandbox, req);
  if (!stream) return stream.error();
  ExecSession session(std::move(*stream), ExecIo{-1, pipe->second.get(), err_fd}, {});
  auto code = session.run();
  pipe->second.reset();  // EOF for tar
  auto st = tar->wait();
  if (!code) return code.error();
  if (!st) return st.error();
  std::string what = spec.sandbox + ":" + spec.guest_path;
  if (*code == kCopyMissingSource) return err("source path '" + what + "' does not exist");
  if (*code != 0)
    return err("reading '" + what + "' failed (tar in the sandbox exited " + std::to_string(*code) + ")");
  if (!st->exited || st->code != 0) {
    replay_log(tar_log, err_fd);
    return err("writing '" + spec.host_path + "' failed: " + describe_tar(*st));
  }

  auto entries = list_dir(scratch->path());
  if (!entries) return entries.error();
  if (entries->size() != 1 || (*entries)[0] != gname)
    return err("the sandbox sent an archive that does not hold just '" + gname + "'; nothing copied");
  ::nftw(scratch->path().c_str(), drop_special_bits, 16, FTW_PHYS);
  std::string got = scratch->path() + "/" + gname;
  if (is_directory(got) && is_directory(final_path) && exists_nofollow(final_path)) {
    // Both directories: merge, as docker cp does.
    auto r = run_checked({"cp", "-a", "-T", "--", got, final_path});
    if (!r) return r.error().wrap("merging into '" + final_path + "'");
    return ok();
  }
  if (::rename(got.c_str(), final_path.c_str()) != 0)
    return errno_error("cannot put the copy at '" + final_path + "'");
  return ok();
}

}  // namespace

std::optional<std::pair<std::string, std::string>> split_sandbox_path(const std::string& arg) {
  if (arg.empty() || arg[0] == '/' || arg[0] == '.') return std::nullopt;
  auto colon = arg.find(':');
  if (colon == std::string::npos) return std::nullopt;
  std::string name = arg.substr(0, colon);
  if (!proto::validate_sandbox_name(name)) return std::nullopt;
  return std::pair{name, arg.substr(colon + 1)};
}

Result<CopySpec> parse_copy_args(const std::string& src, const std::string& dst) {
  auto s = split_sandbox_path(src);
  auto d = split_sandbox_path(dst);
  if (s && d) return err("copying between two sandboxes is not supported: copy to the host first");
  if (!s && !d)
    return err("one of SRC and DST must be SANDBOX:PATH, e.g. sbx cp ./src mybox:/tmp/src");
  CopySpec c;
  c.to_sandbox = static_cast<bool>(d);
  auto& remote = s ? *s : *d;
  c.sandbox = remote.first;
  c.guest_path = remote.second;
  c.host_path = s ? dst : src;
  if (c.guest_path.empty()) return err("empty path after '" + c.sandbox + ":'");
  if (c.host_path.empty()) return err("empty host path");
  return c;
}

std::pair<std::string, std::string> split_parent(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  if (p == "/") return {"/", ""};
  auto slash = p.rfind('/');
  if (slash == std::string::npos) return {".", p};
  return {slash == 0 ? "/" : p.substr(0, slash), p.substr(slash + 1)};
}

std::vector<std::string> guest_extract_command(const std::string& name, const std::string& dst) {
  return {"sh", "-c", kExtractScript, "sh", name, dst};
}

std::vector<std::string> guest_archive_command(const std::string& path) {
  auto [parent, name] = split_parent(path);
  return {"sh", "-c", kArchiveScript, "sh", parent, name};
}

Result<void> run_copy(client::ApiClient& client, const CopySpec& spec, int err_fd) {
  return spec.to_sandbox ? copy_to_sandbox(client, spec, err_fd)
                         : copy_from_sandbox(client, spec, err_fd);
}

}  // namespace sbx::cli
