// sandboxd: the per-user daemon behind `sbx`. Usually started by the CLI;
// run it by hand with --log-file - to watch it in the foreground.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <thread>

#include "base/files.h"
#include "base/log.h"
#include "base/paths.h"
#include "daemon/api_server.h"
#include "daemon/credential_resolver.h"
#include "daemon/egress_ca_provisioner.h"
#include "daemon/egress_service.h"
#include "daemon/environment_trim.h"
#include "daemon/guest_provisioner.h"
#include "daemon/kit_catalog.h"
#include "daemon/sandbox_manager.h"
#include "daemon/secret_routes.h"
#include "daemon/secret_store.h"
#include "daemon/store.h"
#include "daemon/template_service.h"
#include "daemon/user_kits.h"
#include "daemon/vm_launcher.h"
#include "net/cert_authority.h"
#include "net/tls_interceptor.h"
#include "net/upstream_override.h"
#include "sbx_version.h"

using namespace sbx;

int main(int argc, char** argv) {
  // The keys the credential resolver honours are read now; then everything
  // children (QEMU, virtiofsd, apt) need not see goes, before any thread.
  auto host_env = daemon::CredentialResolver::process_env();
  const std::vector<std::string> dropped_env = daemon::trim_environment();
  CLI::App app{"sandboxd: runs sbx sandboxes (one microVM each) for the current user.\n"
               "The sbx CLI starts it on demand; you rarely run it yourself."};
  std::string log_file;
  std::string accel = getenv("SBX_ACCEL") ? getenv("SBX_ACCEL") : "";
  std::string ws_fs = getenv("SBX_WORKSPACE_FS") ? getenv("SBX_WORKSPACE_FS") : "9p";
  app.add_option("--log-file", log_file, "Log destination ('-' for stderr); default: the state dir");
  app.add_option("--accel", accel, "Accelerator: auto, kvm or tcg (env SBX_ACCEL)");
  app.add_option("--workspace-fs", ws_fs, "Workspace sharing: 9p or virtiofs (env SBX_WORKSPACE_FS)")
      ->check(CLI::IsMember({"9p", "virtiofs"}));
  app.footer("Example:\n  sandboxd --log-file -     # run in the foreground, log to the terminal");
  CLI11_PARSE(app, argc, argv);

  auto paths = Paths::from_environment();
  if (!paths) {
    fprintf(stderr, "sandboxd: %s\n", paths.error().message.c_str());
    return 1;
  }
  if (auto r = paths->ensure(); !r) {
    fprintf(stderr, "sandboxd: %s\n", r.error().message.c_str());
    return 1;
  }
  // One daemon per user: the lock is held for the process's lifetime.
  std::string lock_path = paths->lock_file();
  Fd lock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock || ::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
    fprintf(stderr, "sandboxd: another sandboxd is already running for this user (%s)\n",
            lock_path.c_str());
    return 1;
  }

  FILE* logf = stderr;
  if (log_file.empty()) log_file = paths->daemon_log();
  if (log_file != "-") {
    logf = fopen(log_file.c_str(), "ae");
    if (!logf) {
      fprintf(stderr, "sandboxd: cannot open log file %s\n", log_file.c_str());
      return 1;
    }
  }
  Logger log(logf);

  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  daemon::DaemonConfig cfg;
  cfg.paths = *paths;
  cfg.accel = accel;
  cfg.workspace_fs = ws_fs;
  if (const char* a = getenv("SBX_AGENT")) {
    cfg.agent_binary = a;
  } else {
    auto dir = self_exe_dir();
    cfg.agent_binary = dir ? *dir + "/sbx-agent" : "sbx-agent";
  }
  if (const char* t = getenv("SBX_BOOT_TIMEOUT")) cfg.boot_timeout = std::chrono::seconds(atoi(t));
  if (const char* t = getenv("SBX_SILENT_BOOT_TIMEOUT"))
    cfg.silent_boot_timeout = std::chrono::seconds(std::max(1, atoi(t)));

  auto store = daemon::Store::open(paths->database());
  if (!store) {
    log.error(store.error().message);
    fprintf(stderr, "sandboxd: %s\n", store.error().message.c_str());
    return 1;
  }
  auto policy = daemon::PolicyService::open(paths->state + "/policy.db", log);
  if (!policy) {
    log.error(policy.error().message);
    fprintf(stderr, "sandboxd: %s\n", policy.error().message.c_str());
    return 1;
  }
  // Secrets stay on the host: checked (modes) on every start, injected by
  // the egress proxy into requests for their hosts, never given to a guest.
  auto fail = [&](const Error& e) {
    log.error(e.message);
    fprintf(stderr, "sandboxd: %s\n", e.message.c_str());
    return 1;
  };
  auto secrets = daemon::SecretStore::open(paths->state + "/secrets");
  if (!secrets) return fail(secrets.error());
  auto ca = net::CertAuthority::load_or_create(paths->state + "/ca");
  if (!ca) return fail(ca.error());
  auto interceptor = net::TlsInterceptor::create(**ca);
  if (!interceptor) return fail(interceptor.error());
  daemon::CredentialResolver credentials(**secrets, host_env);
  host_env.clear();
  if (!dropped_env.empty()) {
    std::string names;
    for (const auto& n : dropped_env) names += (names.empty() ? "" : " ") + n;
    log.info("environment: not passed to sandboxes' processes: " + names);
  }
  net::EgressOptions intercept;
  intercept.credentials = &credentials;
  intercept.interceptor = interceptor->get();
  if (const char* o = getenv(net::kUpstreamOverrideEnv); o && *o) {
    auto ov = net::parse_upstream_overrides(o);
    if (!ov) return fail(ov.error().wrap(net::kUpstreamOverrideEnv));
    intercept.upstream_override = *ov;
    std::string msg = std::string("TEST ONLY: ") + net::kUpstreamOverrideEnv + " is set (" + o +
                      "): connections to these hosts go to loopback test servers. It exists "
                      "for sbx's own test suites; never set it otherwise.";
    log.warn(msg);
    fprintf(stderr, "sandboxd: WARNING: %s\n", msg.c_str());
  }
  daemon::EgressCaProvisioner egress_ca((*ca)->ca_pem());

  // Every connection and DNS query of every sandbox is decided here, by the
  // policy as it is at that moment.
  auto egress = daemon::EgressService::open(
      paths->state + "/network.db", [p = policy->get()] { return p->current(); }, log, {},
      std::move(intercept));
  if (!egress) {
    log.error(egress.error().message);
    fprintf(stderr, "sandboxd: %s\n", egress.error().message.c_str());
    return 1;
  }
  // Declared after the services it calls into, so it goes first: its
  // destructor detaches the links still up, through the hooks below.
  daemon::SandboxManager manager(cfg, std::move(*store),
                                 std::make_unique<daemon::VmLauncher>(cfg, log), log);
  log.info("sandboxd " SBX_VERSION " starting (pid " + std::to_string(getpid()) + ")");
  manager.set_on_link_up([&](const std::string& name, bool deny_network,
                             const std::shared_ptr<daemon::AgentLink>& link) {
    if (auto r = egress_ca.provision(*link); !r)
      log.warn("sandbox " + name + ": " + r.error().message);
    else
      log.info("sandbox " + name + ": the sbx CA is installed in the guest");
    (*egress)->attach(name, deny_network, link);
  });
  manager.set_exec_env([&](const std::string& name) {
    auto env = daemon::EgressCaProvisioner::exec_env();
    for (auto& e : credentials.guest_env(name)) env.push_back(std::move(e));
    return env;
  });
  manager.set_on_link_down([&](const std::string& name) { (*egress)->detach(name); });
  // Users' kits (sbx create --kit DIR), one copy per sandbox made from one.
  daemon::UserKits user_kits(paths->state + "/kits", log);
  manager.set_on_removed([&](const std::string& name) {
    if (auto r = user_kits.remove(name); !r)
      log.warn("kit of removed sandbox " + name + ": " + r.error().message);
    if (auto r = (*policy)->forget_sandbox(name); !r)
      log.warn("policy rules of removed sandbox " + name + ": " + r.error().message);
    if (auto r = (*secrets)->forget_sandbox(name); !r)
      log.warn("secrets of removed sandbox " + name + ": " + r.error().message);
  });
  // Kits: the built-in catalog next to this binary (or $SBX_KITS_DIR);
  // SBX_TEST_KITS=1 adds the test kit sbx's VM suites build.
  const bool test_kits = getenv("SBX_TEST_KITS") && std::string(getenv("SBX_TEST_KITS")) == "1";
  std::shared_ptr<const kit::KitCatalog> catalog;
  if (auto c = kit::KitCatalog::open_builtin(); c) {
    for (auto& p : c->problems()) log.warn("kit left out: " + p);
    catalog = std::make_shared<const kit::KitCatalog>(std::move(*c));
  } else {
    log.warn("no built-in kits (only shell): " + c.error().message);
  }
  daemon::KitLookup kits = daemon::make_kit_lookup(catalog, test_kits);
  manager.set_agents(daemon::kit_names(catalog.get(), test_kits));
  // A sandbox's kit: its own copy of a user's kit, else the built-in one.
  auto kit_of = [&](const std::string& sandbox,
                    const std::string& agent) -> std::optional<kit::Kit> {
    if (auto k = user_kits.find(sandbox)) return k;
    return kits(agent);
  };
  manager.set_info_decorator([&](proto::SandboxInfo& s) {
    auto k = kit_of(s.name, s.agent);
    if (!k || k->entry.empty()) return;
    s.entry = k->entry;
    s.entry_env = {daemon::kNodeExtraCaEnv};
    for (auto& [key, v] : k->env) s.entry_env.push_back(key + "=" + v);
  });
  daemon::GuestProvisioner provisioner(daemon::HostCaSources::from_host(), log);
  manager.set_on_created([&](const proto::SandboxInfo& s, const proto::CreateRequest& req,
                             const std::shared_ptr<daemon::AgentLink>& link,
                             const daemon::SandboxManager::ProgressFn& progress) {
    auto warn = [&](const std::string& m) {
      log.warn("sandbox " + s.name + ": " + m);
      if (progress) progress("WARNING: " + m);
    };
    if (req.host_ca) {
      std::string bundle = provisioner.host_bundle();
      if (auto r = provisioner.install_cas(*link, bundle); !r) warn(r.error().message);
    }
    auto k = kit_of(s.name, s.agent);
    if (!k) return;
    const std::string user = getuid() == 0 ? "root" : "agent";
    if (!k->files.empty())
      if (auto r = provisioner.write_files(*link, k->files, user); !r) warn(r.error().message);
    // The user's own settings last, so they win over the kit's defaults.
    if (req.host_config && !k->host_config.empty()) {
      auto n = provisioner.copy_host_config(*link, k->host_config, home_dir(), user, warn);
      if (!n)
        warn(n.error().message);
      else if (*n)
        log.info("sandbox " + s.name + ": " + std::to_string(*n) + " host config file(s) copied");
    }
  });
  daemon::TemplateService templates(cfg, manager, **policy, provisioner, kits, log);
  templates.set_user_kits(&user_kits);
  manager.recover();

  std::unique_ptr<daemon::ApiServer> server;
  auto srv = daemon::ApiServer::listen(paths->socket(), manager, **policy, **egress, log,
                                       [&] { server->stop(); }, &templates);
  if (!srv) {
    log.error(srv.error().message);
    fprintf(stderr, "sandboxd: %s\n", srv.error().message.c_str());
    return 1;
  }
  server = std::move(*srv);
  daemon::SecretRoutes secret_routes(manager, **secrets, credentials);
  secret_routes.install(server->router());
  (void)write_file_atomic(paths->pid_file(), std::to_string(getpid()) + "\n", 0600);

  std::thread sig_thread([&] {
    int sig = 0;
    sigwait(&sigs, &sig);
    if (sig != 0) {
      log.info("received signal " + std::to_string(sig) + ", exiting (sandboxes keep running)");
      server->stop();
    }
  });
  log.info("listening on " + paths->socket());
  server->run();
  // Wake the signal thread if we are leaving for another reason.
  pthread_kill(sig_thread.native_handle(), SIGTERM);
  sig_thread.join();
  // Published ports and agent links close before the socket goes away: a
  // client that sees the socket gone may rely on the daemon being gone.
  manager.detach_all();
  server.reset();
  ::unlink(paths->socket().c_str());
  ::unlink(paths->pid_file().c_str());
  log.info("sandboxd stopped");
  return 0;
}
