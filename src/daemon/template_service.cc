#include "daemon/template_service.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include "base/fd.h"
#include "base/files.h"
#include "base/strings.h"
#include "daemon/guest_command.h"
#include "daemon/sandbox_paths.h"
#include "image/file_lock.h"
#include "image/free_space.h"
#include "image/sha256.h"
#include "image/template_archive.h"
#include "image/template_builder.h"
#include "image/template_cache.h"
#include "image/template_catalog.h"
#include "image/template_layer.h"

namespace sbx::daemon {

using namespace std::chrono_literals;

namespace {
// Bump when the build procedure changes in a way the kit does not capture.
constexpr char kLayerBuilderVersion[] = "sbx-kit-layer-v2";
// Run as root after the install steps: caches would otherwise be stored in
// the layer (npm's alone held 180 MiB of the claude layer), and fstrim hands
// the freed blocks back so the saved delta does not carry them.
constexpr char kLayerCleanup[] =
    "if command -v npm >/dev/null; then npm cache clean --force >/dev/null 2>&1 || true; fi\n"
    "apt-get clean 2>/dev/null || true\n"
    "rm -rf /root/.npm/_cacache\n"
    // -xdev: the build's workspace is mounted at its host path, which may
    // lie under /tmp (or /root/.cache, hence not that).
    "find /tmp /var/tmp -xdev -mindepth 1 -delete 2>/dev/null || true\n"
    "sync\n"
    "fstrim / >/dev/null 2>&1 || true\n";
// Room a save needs besides the delta itself.
constexpr uint64_t kSaveMarginBytes = 256ull << 20;

// A step's first line: a here-document step would otherwise print its
// whole script as its label (the build log gets the full text).
std::string first_line(const std::string& step) {
  size_t nl = step.find('\n');
  return nl == std::string::npos ? step : step.substr(0, nl) + " ...";
}

void say(const TemplateService::ProgressFn& p, const std::string& line) {
  if (p) p(line);
}
}  // namespace

std::string kit_layer_id(const std::string& parent_id, const kit::Kit& kit) {
  image::Sha256 h;
  h.update_field(kLayerBuilderVersion);
  h.update_field(parent_id);
  h.update_field(kit.name);
  h.update_field(std::to_string(kit.install.size()));
  for (auto& s : kit.install) h.update_field(s);
  h.update_field(kit.node);
  h.update_field(std::to_string(kit.env.size()));
  for (auto& [k, v] : kit.env) {  // a std::map: sorted, so the order is fixed
    h.update_field(k);
    h.update_field(v);
  }
  h.update_field(std::to_string(kit.files.size()));
  for (auto& f : kit.files) {
    h.update_field(f.path);
    h.update_field(f.content);
    h.update_field(std::to_string(f.mode));
  }
  return h.hex_digest();
}

TemplateService::TemplateService(DaemonConfig cfg, SandboxManager& manager, PolicyService& policy,
                                 GuestProvisioner& provisioner, KitLookup kits, Logger& log)
    : cfg_(std::move(cfg)),
      manager_(manager),
      policy_(policy),
      provisioner_(provisioner),
      kits_(std::move(kits)),
      log_(log) {}

std::string TemplateService::tdir() const { return image::templates_dir(cfg_.paths.cache); }

proto::TemplateInfo TemplateService::to_info(const image::TemplateEntry& e,
                                             const std::vector<image::TemplateEntry>& all,
                                             const std::vector<proto::SandboxInfo>& boxes) const {
  proto::TemplateInfo t;
  t.tag = e.meta.tag;
  t.id = e.meta.id;
  t.origin = std::string(image::origin_name(e.meta.origin));
  // A loaded image stands alone (no parent), like the shell base.
  t.kind = e.meta.parent_id.empty() ? "base" : "layer";
  t.parent = e.meta.parent;
  t.parent_id = e.meta.parent_id;
  t.created = e.meta.created;
  t.size_bytes = e.disk_bytes;
  t.inputs = e.meta.inputs;
  t.source = e.meta.source;
  t.user = e.meta.user;
  t.working_dir = e.meta.working_dir;
  t.env = e.meta.env;
  for (auto& s : boxes)
    if (s.template_id == e.meta.id) t.sandboxes.push_back(s.name);
  t.children = image::children_of(all, e.meta.id);
  return t;
}

Result<std::vector<proto::TemplateInfo>> TemplateService::list() {
  auto all = image::list_templates(tdir());
  auto boxes = manager_.list();
  if (!boxes) return boxes.error();
  std::vector<proto::TemplateInfo> out;
  for (auto& e : all) out.push_back(to_info(e, all, *boxes));
  return out;
}

Result<proto::TemplateInfo> TemplateService::inspect(const std::string& tag) {
  auto all = image::list_templates(tdir());
  auto e = image::find_template(all, tag);
  if (!e) return e.error();
  auto boxes = manager_.list();
  if (!boxes) return boxes.error();
  return to_info(*e, all, *boxes);
}

Result<void> TemplateService::remove(const std::string& tag) {
  if (tag == "shell")
    return err(kConflict,
               "'shell' is the base template every other one is built on; it cannot be removed "
               "(old builds of it go with 'sbx prune')");
  std::lock_guard l(mu_);
  auto all = image::list_templates(tdir());
  std::vector<const image::TemplateEntry*> doomed;
  for (auto& e : all)
    if (e.meta.tag == tag) doomed.push_back(&e);
  if (doomed.empty())
    return err(kNotFound,
               "template '" + tag + "' not found. Run 'sbx template ls' to see your templates.");
  auto boxes = manager_.list();
  if (!boxes) return boxes.error();
  std::vector<std::string> users, children;
  for (auto* e : doomed) {
    for (auto& s : *boxes)
      if (s.template_id == e->meta.id) users.push_back(s.name);
    for (auto& c : image::children_of(all, e->meta.id))
      if (c != tag) children.push_back(c);
  }
  if (!users.empty())
    return err(kConflict, "template '" + tag + "' is in use by sandbox" +
                              (users.size() > 1 ? "es " : " ") + join(users, ", ") + "; remove " +
                              (users.size() > 1 ? "them" : "it") + " first ('sbx rm " + users[0] +
                              "')");
  if (!children.empty())
    return err(kConflict, "template '" + tag + "' is the parent of template" +
                              (children.size() > 1 ? "s " : " ") + join(children, ", ") +
                              "; remove those first ('sbx template rm " + children[0] + "')");
  for (auto* e : doomed)
    if (auto r = remove_tree(e->dir); !r) return r.error().wrap("remove template '" + tag + "'");
  log_.info("removed template " + tag);
  return ok();
}

Result<image::TemplateEntry> TemplateService::save_layer_of(const SandboxRecord& rec,
                                                            image::TemplateMeta meta) {
  auto all = image::list_templates(tdir());
  auto* parent = image::find_template_by_id(all, rec.template_id);
  if (!parent)
    return err("the template sandbox '" + rec.name + "' was made from (id " +
               rec.template_id.substr(0, 16) + ") is no longer in the cache");
  SandboxPaths p(cfg_.paths, rec.name);
  if (!path_exists(p.disk)) return err("the disk of sandbox '" + rec.name + "' is missing");
  if (auto s = image::check_free_space("save template '" + meta.tag + "'", tdir(),
                                       image::disk_usage(p.disk) + kSaveMarginBytes);
      !s)
    return s.error();
  meta.parent = parent->meta.tag;
  meta.parent_id = parent->meta.id;
  auto dir = image::save_layer(tdir(), p.disk, parent->image_path(), parent->meta.format, meta);
  if (!dir) return dir.error();
  auto saved = image::list_templates(tdir());
  auto* e = image::find_template_by_id(saved, meta.id);
  if (!e) return err("saved template '" + meta.tag + "' is not readable in " + *dir);
  return *e;
}

Result<proto::TemplateInfo> TemplateService::save(const proto::SaveTemplateRequest& req,
                                                  const ProgressFn& progress) {
  if (auto v = image::validate_template_tag(req.tag); !v) return v.error();
  if (req.tag == "shell" || (kits_ && kits_(req.tag)))
    return err(kConflict, "'" + req.tag + "' names an agent's template; choose another tag");
  if (!req.output.empty()) {
    // Checked before the sandbox is stopped; export_template checks again.
    auto slash = req.output.rfind('/');
    std::string dir = slash == 0 ? "/" : req.output.substr(0, slash);
    if (req.output[0] != '/' || is_directory(req.output) || !is_directory(dir))
      return err(kBadRequest, "cannot write the template to '" + req.output +
                                  "': name a new file in an existing directory");
  }
  std::lock_guard l(mu_);
  auto all = image::list_templates(tdir());
  if (image::find_template(all, req.tag))
    return err(kConflict, "template '" + req.tag + "' already exists; choose another tag or " +
                              "remove it with 'sbx template rm " + req.tag + "'");
  image::TemplateMeta meta;
  meta.tag = req.tag;
  meta.origin = image::TemplateOrigin::kSaved;
  meta.created = image::now_rfc3339_utc();
  meta.source = req.sandbox;
  meta.inputs = "saved from sandbox " + req.sandbox;
  meta.id = image::sha256_hex(req.tag + "\n" + req.sandbox + "\n" + meta.created + "\n" +
                              std::to_string(::getpid()));
  Result<image::TemplateEntry> saved = err("not saved");
  auto r =
      manager_.with_stopped(req.sandbox, req.stop, [&](const SandboxRecord& rec) -> Result<void> {
        say(progress,
            "Saving the disk of sandbox '" + rec.name + "' as template '" + req.tag + "'...");
        saved = save_layer_of(rec, meta);
        return saved ? ok() : Result<void>(saved.error());
      });
  if (!r) return r.error().wrap("save template '" + req.tag + "'");
  log_.info("saved sandbox " + req.sandbox + " as template " + req.tag);
  if (!req.output.empty()) {
    say(progress, "Writing template '" + req.tag + "' to " + req.output +
                      " (its image flattened: this takes a while)...");
    auto bytes = image::export_template(*saved, req.output, tdir());
    if (!bytes) {
      // All or nothing: the user asked for the archive, not just the layer.
      (void)remove_tree(saved->dir);
      return bytes.error().wrap("save template '" + req.tag + "'");
    }
    say(progress, "Wrote " + req.output + " (" + format_size(*bytes) + ").");
    log_.info("wrote template " + req.tag + " to " + req.output);
  }
  auto boxes = manager_.list();
  if (!boxes) return boxes.error();
  return to_info(*saved, image::list_templates(tdir()), *boxes);
}

Result<std::string> TemplateService::parent_id(const std::string& parent_tag,
                                               const ProgressFn& progress) {
  if (parent_tag == "shell") {
    auto t = image::ensure_shell_template(cfg_.paths.cache, [&](const std::string& m) {
      log_.info(m);
      say(progress, m);
    });
    if (!t) return t.error().wrap("prepare template 'shell'");
    return t->id;
  }
  auto e = image::find_template(image::list_templates(tdir()), parent_tag);
  if (!e) return e.error();
  return e->meta.id;
}

Result<std::string> TemplateService::ensure_kit_template(const kit::Kit& kit,
                                                         const ProgressFn& progress) {
  std::string parent = kit.parent.empty() ? "shell" : kit.parent;
  if (kit.install.empty()) return parent;
  // A parent that is itself a kit with install steps is built first.
  if (parent != "shell" && kits_)
    if (auto pk = kits_(parent); pk && pk->name != kit.name)
      if (auto r = ensure_kit_template(*pk, progress); !r) return r.error();
  auto pid = parent_id(parent, progress);
  if (!pid) return pid.error();
  std::string id = kit_layer_id(*pid, kit);
  auto cached = [&]() {
    auto all = image::list_templates(tdir());
    for (auto& e : all)
      if (e.meta.tag == kit.name && e.meta.id == id) return true;
    return false;
  };
  if (cached()) return kit.name;
  if (auto r = make_dirs(tdir()); !r) return r.error();
  auto lock = image::FileLock::acquire(tdir() + "/.kit-" + kit.name + ".lock");
  if (!lock) return lock.error();
  if (cached()) return kit.name;  // another build finished meanwhile
  if (auto s =
          image::check_free_space("build template '" + kit.name + "'", tdir(), kBuildFreeBytes);
      !s)
    return s.error();
  std::string logs = cfg_.paths.cache + "/template-logs";
  if (auto r = make_dirs(logs); !r) return r.error();
  std::string log_path = logs + "/" + kit.name + "-" + id.substr(0, 16) + ".log";
  say(progress, "Building template '" + kit.name + "' (" + std::to_string(kit.install.size()) +
                    " install steps over '" + parent + "'); log: " + log_path);
  auto built = build_layer(kit, parent, *pid, id, log_path, progress);
  if (!built) {
    auto e = built.error().wrap("build template '" + kit.name + "'");
    e.message += "\nThe build log is kept at " + log_path;
    return e;
  }
  // The log goes with the layer it describes.
  auto all = image::list_templates(tdir());
  if (auto* e = image::find_template_by_id(all, id))
    (void)::rename(log_path.c_str(), (e->dir + "/build.log").c_str());
  say(progress, "Template '" + kit.name + "' ready.");
  return kit.name;
}

Result<void> TemplateService::build_layer(const kit::Kit& kit, const std::string& parent_tag,
                                          const std::string& parent_id, const std::string& id,
                                          const std::string& log_path, const ProgressFn& progress) {
  Fd logfd(::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!logfd) return errno_error("open build log " + log_path);
  auto line = [&](const std::string& l) {
    (void)write_all(logfd.get(), l + "\n");
    say(progress, l);
  };
  // The build sandbox: an ordinary sandbox, so policy and proxy apply.
  std::string name = "build-" + kit.name + "-" + id.substr(0, 8);
  (void)manager_.remove(name, /*force=*/true);  // a crashed build's leftover
  std::string work = tdir() + "/.kitbuild-" + kit.name + "-" + id.substr(0, 16);
  (void)remove_tree(work);
  if (auto r = make_dirs(work + "/ws", 0700); !r) return r.error();
  struct Cleanup {
    TemplateService* self;
    std::string name, work;
    ~Cleanup() {
      (void)self->manager_.remove(name, /*force=*/true);
      (void)remove_tree(work);
    }
  } cleanup{this, name, work};
  for (auto& domain : kit.allow)
    if (auto r = policy_.add(name, net::Action::kAllow, domain); !r)
      return r.error().wrap("allow " + domain + " for the build");

  line("Booting build sandbox '" + name + "' from template '" + parent_tag + "'...");
  proto::CreateRequest cr;
  cr.name = name;
  cr.agent = "shell";
  cr.workspace = work + "/ws";
  cr.template_tag = parent_tag;
  cr.host_ca = true;  // installs reach registries through the host's proxy CA
  auto box = manager_.create(cr, line);
  if (!box) return box.error();
  if (box->template_id != parent_id)
    return err("build sandbox booted from template " + box->template_id.substr(0, 16) +
               ", not the expected parent " + parent_id.substr(0, 16));

  std::vector<std::string> env = {"DEBIAN_FRONTEND=noninteractive", kNodeExtraCaEnv};
  for (auto& [k, v] : kit.env) env.push_back(k + "=" + v);
  for (size_t i = 0; i < kit.install.size(); ++i) {
    const std::string& step = kit.install[i];
    std::string label =
        "[" + std::to_string(i + 1) + "/" + std::to_string(kit.install.size()) + "]";
    line(label + " " + first_line(step));
    if (step.find('\n') != std::string::npos) (void)write_all(logfd.get(), step + "\n");
    proto::ExecRequest req;
    req.argv = {"sh", "-ec", step};
    req.user = "root";
    req.cwd = "/root";
    req.env = env;
    auto ch = manager_.exec(name, req);
    if (!ch) return ch.error().wrap("install step " + std::to_string(i + 1));
    auto r = run_guest_command(*ch, "", [&](const std::string& l) { line("    " + l); });
    if (!r) return r.error().wrap("install step " + std::to_string(i + 1));
    if (r->exit_code != 0)
      return err("install step " + std::to_string(i + 1) + " of " +
                 std::to_string(kit.install.size()) + " ('" + first_line(step) +
                 "') failed with exit status " + std::to_string(r->exit_code));
  }
  line("Cleaning caches and trimming the disk...");
  {
    proto::ExecRequest req;
    req.argv = {"sh", "-ec", kLayerCleanup};
    req.user = "root";
    req.cwd = "/";
    auto ch = manager_.exec(name, req);
    if (!ch) return ch.error().wrap("clean the build sandbox");
    auto r = run_guest_command(*ch, "", [&](const std::string& l) { line("    " + l); });
    if (!r) return r.error().wrap("clean the build sandbox");
    if (r->exit_code != 0)
      return err("cleaning the build sandbox failed with exit status " +
                 std::to_string(r->exit_code));
  }
  // The host's CAs were for the build; each sandbox gets the host's own at
  // create (or none, with --no-host-ca).
  if (auto link = manager_.link_of(name)) {
    if (auto r = provisioner_.remove_cas(*link); !r) return r.error();
  }
  line("Stopping the build sandbox and saving its disk as a layer...");
  image::TemplateMeta meta;
  meta.tag = kit.name;
  meta.id = id;
  meta.origin = image::TemplateOrigin::kBuilt;
  meta.created = image::now_rfc3339_utc();
  meta.source = kit.source.empty() ? "kit " + kit.name : kit.source;
  meta.inputs = "kit " + kit.name + ": " + std::to_string(kit.install.size()) +
                " install steps, env, files over " + parent_tag;
  Result<image::TemplateEntry> saved = err("not saved");
  auto r =
      manager_.with_stopped(name, /*stop=*/true, [&](const SandboxRecord& rec) -> Result<void> {
        saved = save_layer_of(rec, meta);
        return saved ? ok() : Result<void>(saved.error());
      });
  if (!r) return r.error();
  line("Layer '" + kit.name + "' saved: " + format_size(saved->disk_bytes) + " on disk.");
  return ok();
}

Result<proto::SandboxInfo> TemplateService::create_sandbox(proto::CreateRequest req,
                                                           const ProgressFn& progress) {
  if (req.agent.empty()) req.agent = "shell";
  std::optional<UserKits::Staged> staged;
  std::optional<kit::Kit> kit;
  if (req.kit) {
    if (!user_kits_) return err(kBadRequest, "this sandboxd does not take kits with a request");
    auto s = user_kits_->stage(*req.kit);
    if (!s) return s.error();
    const std::string& name = s->kit().name;
    // A sandbox must never run something else under a built-in agent's
    // name, nor its layer take that agent's template tag.
    if (kits_ && kits_(name))
      return err(kBadRequest, "your kit is named '" + name +
                                  "', which is a built-in agent's name; give it another name "
                                  "(name: in its kit.yaml)");
    req.agent = name;
    kit = with_install_script(s->kit());
    if (!kit) return err(kBadRequest, "kit '" + name + "': its node version is not pinned here");
    staged.emplace(std::move(*s));
  } else if (kits_) {
    kit = kits_(req.agent);
  }
  if (req.template_tag.empty() && kit && !kit->install.empty()) {
    auto tag = ensure_kit_template(*kit, progress);
    if (!tag) return tag.error();
    req.template_tag = *tag;
  }
  if (!req.template_tag.empty())
    if (auto v = image::validate_template_tag(req.template_tag); !v) return v.error();
  SandboxManager::CreateHooks hooks;
  if (staged) hooks.extra_agent = req.agent;
  // Before the sandbox boots: its kit is known and the domains its agent
  // needs are allowed from the first connection. Both go with the sandbox.
  hooks.inserted = [&](const std::string& name) -> Result<void> {
    if (staged)
      if (auto r = user_kits_->attach(*staged, name); !r) return r;
    if (kit)
      for (auto& domain : kit->allow)
        if (auto r = policy_.add(name, net::Action::kAllow, domain); !r)
          return r.error().wrap("allow " + domain + " for kit '" + kit->name + "'");
    return ok();
  };
  return manager_.create(req, progress, hooks);
}

}  // namespace sbx::daemon
