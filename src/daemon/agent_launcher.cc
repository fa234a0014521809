#include "daemon/agent_launcher.h"

#include <signal.h>

#include "base/child_process.h"
#include "base/fd.h"
#include "base/files.h"
#include "daemon/sandbox_paths.h"
#include "image/template_cache.h"

namespace sbx::daemon::testing {

using namespace std::chrono_literals;

namespace {

/// An sbx-agent process standing in for a VM.
class AgentGuest : public GuestVm {
 public:
  AgentGuest(ChildProcess c, std::shared_ptr<const std::string> console)
      : child_(std::move(c)), console_(std::move(console)) {}
  bool alive() override {
    std::lock_guard l(mu_);
    auto s = child_.poll();
    return s.ok() && !s->has_value();
  }
  Result<void> kill() override {
    std::lock_guard l(mu_);
    if (!child_.running()) return ok();
    if (auto r = child_.kill(SIGKILL); !r) return r;
    auto w = child_.wait();
    if (!w) return w.error();
    return ok();
  }
  Result<bool> wait_exit(std::chrono::milliseconds timeout) override {
    std::lock_guard l(mu_);
    if (!child_.running()) return true;
    auto w = child_.wait_for(timeout);
    if (!w) return w.error();
    return w->has_value();
  }
  std::string console_tail(size_t) override { return *console_; }
  int64_t pid() const override { return pid_; }
  int64_t virtiofsd_pid() const override { return 0; }

 private:
  std::mutex mu_;
  ChildProcess child_;
  pid_t pid_ = child_.pid();
  std::shared_ptr<const std::string> console_;
};

}  // namespace

Result<std::string> AgentLauncher::create(const std::string& name, uint64_t, uint64_t,
                                          const DiskSource&) {
  if (auto r = make_dirs(SandboxPaths(paths_, name).dir, 0700); !r) return r.error();
  return std::string(kTemplate);
}

Result<void> AgentLauncher::remove(const std::string& name) {
  SandboxPaths p(paths_, name);
  (void)remove_tree(p.runtime);
  return remove_tree(p.dir);
}

uint64_t AgentLauncher::disk_usage(const std::string& name) {
  return image::disk_usage(SandboxPaths(paths_, name).dir);
}

void AgentLauncher::release(const std::string& name) {
  (void)remove_tree(SandboxPaths(paths_, name).runtime);
}

void AgentLauncher::set_console(std::string text) {
  std::lock_guard l(mu_);
  console_ = std::make_shared<std::string>(std::move(text));
}

pid_t AgentLauncher::guest_pid(const std::string& name) {
  std::lock_guard l(mu_);
  auto it = pids_.find(name);
  return it == pids_.end() ? 0 : it->second;
}

Result<LocalAgent> start_local_agent(const std::string& agent_path, Logger& log,
                                     std::string_view junk) {
  auto sp = socket_pair();
  if (!sp) return sp.error();
  // The agent's end must survive exec.
  if (auto r = set_cloexec(sp->second.get(), false); !r) return r.error();
  SpawnOptions o;
  o.argv = {agent_path, "--serve-fd", std::to_string(sp->second.get())};
  o.die_with_parent = true;
  auto c = ChildProcess::spawn(o);
  if (!c) return c.error();
  sp->second.reset();
  LocalAgent a{std::move(*c), nullptr};
  if (!junk.empty())
    if (auto r = write_all(sp->first.get(), junk); !r) return r.error();
  pid_t pid = a.process.pid();
  auto link = AgentLink::handshake(
      std::move(sp->first), 10s, [pid] { return process_exists(pid); }, log);
  if (!link) {
    (void)a.process.kill(SIGKILL);
    return link.error();
  }
  a.link = *link;
  return a;
}

void stop_local_agent(ChildProcess& process, std::shared_ptr<AgentLink>& link) {
  if (link) link->close();
  link.reset();
  if (process.running()) {
    auto st = process.wait_for(5s);
    if (!st.ok() || !st->has_value()) (void)process.kill(SIGKILL);
  }
}

Result<LiveGuest> AgentLauncher::spawn(const std::string& name) {
  auto a = start_local_agent(agent_path_, log_);
  if (!a) return a.error();
  std::shared_ptr<const std::string> console;
  {
    std::lock_guard l(mu_);
    pids_[name] = a->process.pid();
    console = console_;
  }
  return LiveGuest{std::make_unique<AgentGuest>(std::move(a->process), console), a->link};
}

Result<LiveGuest> AgentLauncher::boot(const SandboxRecord& rec, const BootHooks& hooks) {
  if (hooks.starting) hooks.starting();
  ++boots_;
  if (fail_boots_) {
    std::lock_guard l(mu_);
    return err(console_error("boot sandbox '" + rec.name + "': the guest agent did not answer",
                             *console_));
  }
  auto g = spawn(rec.name);
  if (g && hooks.started) hooks.started(g->vm->pid(), 0);
  return g;
}

Result<LiveGuest> AgentLauncher::adopt(const SandboxRecord& rec) {
  if (!adoptable_.count(rec.name)) return err("no VM with pid " + std::to_string(rec.qemu_pid));
  return spawn(rec.name);
}

}  // namespace sbx::daemon::testing
