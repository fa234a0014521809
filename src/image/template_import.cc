#include "image/template_import.h"

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <chrono>

#include "base/files.h"
#include "base/strings.h"
#include "image/boot_layer.h"
#include "image/byte_source.h"
#include "image/ext4_image.h"
#include "image/file_lock.h"
#include "image/layer_applier.h"
#include "image/sha256.h"
#include "image/template_archive.h"
#include "image/template_cache.h"
#include "image/template_catalog.h"
#include "image/template_layer.h"

namespace sbx::image {
namespace {

// Bump when the import procedure changes in a way the hashed inputs miss
// (boot layer, mkfs options), so loads are redone.
constexpr char kImporterVersion[] = "sbx-template-import-v1";
constexpr char kKind[] = "image";
constexpr size_t kMaxUserDb = 4 << 20;
// Room beyond the staged tree for the ext4 image's own tables and journal.
constexpr uint64_t kPackSlack = 512ULL << 20;

void report(const ProgressFn& p, const std::string& msg) {
  if (p) p(msg);
}

}  // namespace

LoadedTemplate loaded_template(const std::string& dir, const TemplateMeta& m) {
  LoadedTemplate t;
  t.name = m.tag;
  t.id = m.id;
  t.format = m.archive_format;
  t.image_id = m.image_id;
  t.config.user = m.user;
  t.config.env = m.env;
  t.config.working_dir = m.working_dir;
  t.dir = dir;
  t.image = dir + "/" + m.image;
  t.size_bytes = disk_usage(t.image);
  return t;
}

namespace {

Result<LoadedTemplate> read_loaded(const std::string& dir) {
  auto m = read_template_meta(dir, "");
  if (!m) return m.error();
  if (!path_exists(dir + "/" + m->image)) return err("template image missing in " + dir);
  return loaded_template(dir, *m);
}

// The one step that records a finished import in the catalog: its
// template.meta (origin `loaded`), then the atomic rename into place.
Result<void> store_loaded_template(const std::string& work, const std::string& dir,
                                   const TemplateMeta& m) {
  if (auto r = write_file_atomic(work + "/" + kMetaFile, to_meta_text(m)); !r) return r;
  if (::rename(work.c_str(), dir.c_str()) < 0) return errno_error("rename " + work);
  return ok();
}

std::string shell_of(const std::map<std::string, NodeMeta>& meta) {
  if (meta.count("bin/bash")) return "/bin/bash";
  if (meta.count("usr/bin/bash")) return "/usr/bin/bash";
  return "/bin/sh";
}

// Applies every layer, then the boot layer, into `rootfs`.
Result<LayerApplier> stage(ImageArchive& archive, const std::string& rootfs,
                           const ProgressFn& progress) {
  auto applier = LayerApplier::open(rootfs);
  if (!applier) return applier.error();
  size_t n = archive.layers().size();
  for (size_t i = 0; i < n; ++i) {
    report(progress, "Applying layer " + std::to_string(i + 1) + "/" + std::to_string(n) + "...");
    auto r = archive.read_layer(
        i, [&](TarReader& tr) { return applier->apply(tr, "layer " + std::to_string(i + 1)); });
    if (!r) return r.error();
  }
  BootLayerInput in;
  auto passwd = applier->read_file("etc/passwd", kMaxUserDb);
  auto group = applier->read_file("etc/group", kMaxUserDb);
  if (!passwd) return passwd.error();
  if (!group) return group.error();
  in.passwd = *passwd;
  in.group = *group;
  const auto& meta = applier->metadata();
  in.has_sudo = meta.count("usr/bin/sudo") || meta.count("bin/sudo");
  in.shell = shell_of(meta);
  std::string boot = boot_layer_tar(in);
  StringSource src(boot);
  TarReader tr(src);
  if (auto r = applier->apply(tr, "sbx boot layer"); !r) return r.error();
  return applier;
}

}  // namespace

Result<void> require_free_space(const std::string& dir, uint64_t need, const std::string& what) {
  struct statvfs s;
  if (::statvfs(dir.c_str(), &s) != 0) return errno_error("statvfs " + dir);
  uint64_t avail = static_cast<uint64_t>(s.f_bavail) * s.f_frsize;
  if (avail < need)
    return err(kInsufficientStorage, "not enough free disk space in " + dir + " to " + what + ": " +
                                         format_size(avail) + " available, about " +
                                         format_size(need) +
                                         " needed; free some space (sbx prune) and retry");
  return ok();
}

Result<LoadedTemplate> find_loaded_template(const std::string& cache_dir, const std::string& name) {
  auto all = list_templates(templates_dir(cache_dir));
  auto e = find_template(all, name);
  if (!e) return e.error();
  if (e->meta.origin != TemplateOrigin::kLoaded)
    return err(kNotFound, "template '" + name + "' was not loaded from an image");
  return loaded_template(e->dir, e->meta);
}

Result<LoadedTemplate> import_image_template(const TemplateImportOptions& o) {
  struct stat st;
  if (::stat(o.archive.c_str(), &st) < 0) return errno_error(o.archive).wrap("load");
  if (!S_ISREG(st.st_mode)) return err(kBadRequest, o.archive + " is not a regular file");
  if (is_template_archive(o.archive)) return import_template_archive(o);
  std::string tdir = templates_dir(o.cache_dir);
  if (auto r = make_dirs(tdir); !r) return r.error();
  // First estimate: the tree and the image each about the archive's size.
  uint64_t archive_bytes = static_cast<uint64_t>(st.st_size);
  if (auto r = require_free_space(tdir, 2 * archive_bytes + kPackSlack + o.extra_free_bytes,
                                  "load " + o.archive);
      !r)
    return r.error();

  report(o.progress, "Reading image archive " + o.archive + "...");
  auto archive = ImageArchive::open(o.archive);
  if (!archive) return archive.error();
  std::string name = o.tag.empty() && !archive->tags().empty() ? archive->tags()[0] : o.tag;
  if (name.empty()) name = "image-" + archive->config_digest().substr(7, 12);
  // One template per (image, name): the same image under a second name is
  // a second template, so names never alias and removing one is simple.
  Sha256 h;
  h.update_field(kImporterVersion);
  h.update_field(archive->config_digest());
  for (auto& l : archive->layers()) h.update_field(l.diff_id);
  h.update_field(name);
  std::string id = h.hex_digest();
  if (auto v = validate_template_tag(name); !v) return v.error();

  std::string dname = template_dir_name(kKind, id);
  std::string dir = tdir + "/" + dname;
  auto lock = FileLock::acquire(tdir + "/." + dname + ".lock");
  if (!lock) return lock.error();
  // One catalog: a tag held by any other template (saved, built, another
  // image) is taken.
  if (auto other = find_template(list_templates(tdir), name); other && other->meta.id != id)
    return err(kConflict, "a template named '" + name +
                              "' already exists; remove it first ('sbx template rm " + name +
                              "') or load under another name");
  if (auto t = read_loaded(dir); t) {
    if (t->name != name)
      return err(kConflict, "this image is already loaded as template '" + t->name + "'");
    t->reused = true;
    return t;
  }

  std::string work = tdir + "/.load-" + dname;
  (void)remove_tree(work);
  (void)remove_tree(dir);  // an incomplete leftover (no marker)
  if (auto r = make_dirs(work + "/rootfs"); !r) return r.error();
  auto fail = [&](Error e) {
    (void)remove_tree(work);
    return e.wrap("load " + o.archive);
  };
  auto t0 = std::chrono::steady_clock::now();
  auto applier = stage(*archive, work + "/rootfs", o.progress);
  if (!applier) return fail(applier.error());
  uint64_t content = disk_usage(work + "/rootfs");
  if (auto r =
          require_free_space(tdir, content + kPackSlack + o.extra_free_bytes, "pack the image");
      !r)
    return fail(r.error());
  report(o.progress, "Packing " + format_size(content) + " into an ext4 image...");
  uint64_t bytes = ext4_image_size(content, applier->metadata().size(), o.min_disk_bytes);
  if (auto r = write_ext4_image(work + "/rootfs", applier->metadata(), work + "/rootfs.ext4", bytes,
                                work + "/load.log");
      !r)
    return fail(r.error());
  if (auto r = remove_tree(work + "/rootfs"); !r) return fail(r.error());

  TemplateMeta m;
  m.tag = name;
  m.id = id;
  m.origin = TemplateOrigin::kLoaded;
  m.created = now_rfc3339_utc();
  m.image = "rootfs.ext4";
  m.format = "raw";
  m.source = o.archive;
  m.archive_format = archive->format();
  m.image_id = archive->config_digest();
  m.inputs = m.archive_format + " image " + m.image_id + ", " +
             std::to_string(archive->layers().size()) + " layers";
  m.user = archive->config().user;
  m.working_dir = archive->config().working_dir;
  m.env = archive->config().env;
  if (auto r = store_loaded_template(work, dir, m); !r) return fail(r.error());
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  report(o.progress, "Template '" + name + "' loaded in " + std::to_string(int(secs)) + " s.");
  return read_loaded(dir);
}

}  // namespace sbx::image
