#include "base/paths.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "base/files.h"

namespace sbx {

namespace {
std::string env_or(const char* name, const std::string& fallback) {
  const char* v = getenv(name);
  return v && *v ? std::string(v) : fallback;
}
}  // namespace

std::string home_dir() {
  const char* h = getenv("HOME");
  if (h && *h) return h;
  if (passwd* pw = getpwuid(getuid())) return pw->pw_dir;
  return "/";
}

Result<Paths> Paths::from_environment() {
  Paths p;
  std::string home = home_dir();
  uid_t uid = getuid();
  std::string xdg_runtime = env_or("XDG_RUNTIME_DIR", "");
  std::string runtime_default =
      xdg_runtime.empty() ? "/tmp/sbx-" + std::to_string(uid) : xdg_runtime + "/sbx";
  p.runtime = env_or("SBX_RUNTIME_DIR", runtime_default);
  p.state = env_or("SBX_STATE_DIR",
                   env_or("XDG_STATE_HOME", home + "/.local/state") + "/sbx");
  p.cache = env_or("SBX_CACHE_DIR",
                   env_or("XDG_CACHE_HOME", home + "/.cache") + "/sbx");
  p.config = env_or("SBX_CONFIG_DIR",
                    env_or("XDG_CONFIG_HOME", home + "/.config") + "/sbx");
  for (auto* d : {&p.runtime, &p.state, &p.cache, &p.config}) {
    auto abs = absolute_path(*d);
    if (!abs) return abs.error();
    *d = *abs;
  }
  return p;
}

Result<void> Paths::ensure() const {
  for (auto& d : {state, cache, config, sandboxes_dir()}) {
    auto r = make_dirs(d, 0700);
    if (!r) return r;
  }
  auto r = make_dirs(runtime, 0700);
  if (!r) return r;
  // The control socket's directory is its first line of defence: it must be
  // ours and closed to everybody else.
  struct stat st;
  if (::stat(runtime.c_str(), &st) < 0) return errno_error("stat " + runtime);
  if (st.st_uid != getuid())
    return err("runtime directory " + runtime +
               " belongs to another user; set SBX_RUNTIME_DIR to a directory of yours");
  if ((st.st_mode & 077) != 0 && ::chmod(runtime.c_str(), 0700) < 0)
    return errno_error("chmod 0700 " + runtime);
  return ok();
}

}  // namespace sbx
