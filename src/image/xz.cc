#include "image/xz.h"

#include <fcntl.h>
#include <unistd.h>

#include "base/child_process.h"
#include "base/fd.h"
#include "base/strings.h"

namespace sbx::image {

Result<void> xz_decompress_fd(int in_fd, const std::string& out_path,
                              bool single_stream) {
  Fd out(::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!out) return errno_error("create " + out_path);
  auto errp = make_pipe();
  if (!errp) return errp.error();
  SpawnOptions o;
  o.argv = {"xz", "-dc", "-q"};
  if (single_stream) o.argv.push_back("--single-stream");
  o.stdin_fd = in_fd;
  o.stdout_fd = out.get();
  o.stderr_fd = errp->second.get();
  auto child = ChildProcess::spawn(o);
  if (!child) return child.error().wrap("xz (install xz-utils)");
  errp->second.reset();
  std::string errtext;
  for (;;) {
    auto chunk = read_some(errp->first.get(), 4096);
    if (!chunk || chunk->empty()) break;
    if (errtext.size() < 4096) errtext += *chunk;
  }
  auto st = child->wait();
  if (!st) return st.error();
  if (!st->exited || st->code != 0)
    return err("xz -d failed (" + st->describe() + "): " + trim(errtext));
  return ok();
}

Result<void> xz_decompress_file(const std::string& in_path,
                                const std::string& out_path) {
  Fd in(::open(in_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in) return errno_error("open " + in_path);
  auto r = xz_decompress_fd(in.get(), out_path, false);
  if (!r) return r.error().wrap(in_path);
  return ok();
}

}  // namespace sbx::image
