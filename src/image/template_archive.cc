#include "image/template_archive.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "base/child_process.h"
#include "base/fd.h"
#include "base/files.h"
#include "base/strings.h"
#include "image/byte_source.h"
#include "image/file_lock.h"
#include "image/free_space.h"
#include "image/sha256.h"
#include "image/tar_reader.h"
#include "image/tar_writer.h"
#include "image/template_cache.h"
#include "image/template_layer.h"

namespace sbx::image {
namespace {

// Bump when loading archives changes in a way their content does not show.
constexpr char kArchiveLoaderVersion[] = "sbx-template-archive-v1";
constexpr char kKind[] = "loaded";
constexpr size_t kMaxMetaBytes = 64 * 1024;
constexpr size_t kCopyChunk = 1 << 20;
// Room for the tar's headers and the file systems' own slack.
constexpr uint64_t kMarginBytes = 64ull << 20;
// Larger than any sandbox disk sbx makes; a bigger image is not ours.
constexpr uint64_t kMaxVirtualBytes = 1ull << 40;

std::string dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == 0 ? "/" : path.substr(0, slash);
}

// Bytes the flattened qcow2 needs: qemu-img's own measure of the whole
// chain, else what the chain occupies now.
uint64_t flattened_bytes(const TemplateEntry& t) {
  auto out = run_checked(
      {"qemu-img", "measure", "--output=json", "-O", "qcow2", "-f", t.meta.format, t.image_path()});
  if (out) {
    auto j =
        nlohmann::json::parse(out->substr(std::min(out->find('{'), out->size())), nullptr, false);
    if (j.is_object() && j.contains("required") && j["required"].is_number_unsigned())
      return j["required"].get<uint64_t>();
  }
  return disk_usage(t.dir) * 2;  // a layer's delta understates its chain
}

// Removes a path when it goes out of scope unless kept.
struct Removal {
  std::string path;
  bool tree = false;
  ~Removal() {
    if (path.empty()) return;
    if (tree)
      (void)remove_tree(path);
    else
      (void)::unlink(path.c_str());
  }
};

Result<void> copy_into(int out, int in, const std::string& what) {
  std::string buf(kCopyChunk, '\0');
  for (;;) {
    ssize_t n = ::read(in, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("read " + what);
    if (n == 0) return ok();
    if (auto r = write_all(out, std::string_view(buf.data(), static_cast<size_t>(n))); !r)
      return r.error();
  }
}

// The archive's two members, checked, its image streamed to `image_out`
// only when `image_out` is not empty.
struct ArchiveHead {
  TemplateMeta meta;
  uint64_t image_bytes = 0;
};

Result<ArchiveHead> read_archive(const std::string& path, const std::string& image_out) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return errno_error("open " + path);
  struct stat st;
  if (::fstat(fd.get(), &st) < 0) return errno_error("stat " + path);
  FileRangeSource src(fd.get(), 0, static_cast<uint64_t>(st.st_size), path);
  TarReader tr(src);
  auto first = tr.next();
  if (!first) return first.error();
  if (!*first || (*first)->type != TarType::kFile || (*first)->path != kArchiveMetaMember)
    return err(kBadRequest, path + " is not an sbx template archive (no " +
                                std::string(kArchiveMetaMember) + " first)");
  auto text = tr.read_all(kMaxMetaBytes);
  if (!text) return text.error().wrap(kArchiveMetaMember);
  auto meta = parse_meta_text(*text);
  if (!meta) return meta.error().wrap(kArchiveMetaMember);
  auto second = tr.next();
  if (!second) return second.error();
  if (!*second || (*second)->type != TarType::kFile || (*second)->path != kArchiveImageMember)
    return err(kBadRequest, path + ": the template archive's second member must be the file " +
                                std::string(kArchiveImageMember));
  ArchiveHead head{std::move(*meta), (*second)->size};
  if (!image_out.empty()) {
    Fd out(::open(image_out.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!out) return errno_error("create " + image_out);
    std::string buf(kCopyChunk, '\0');
    for (;;) {
      auto n = tr.read_data(buf.data(), buf.size());
      if (!n) return n.error().wrap(kArchiveImageMember);
      if (*n == 0) break;
      if (auto r = write_all(out.get(), std::string_view(buf.data(), *n)); !r)
        return r.error().wrap("write " + image_out);
    }
    if (::fsync(out.get()) < 0) return errno_error("fsync " + image_out);
    auto rest = tr.next();
    if (!rest) return rest.error();
    if (*rest)
      return err(kBadRequest, path + ": unexpected member '" + (*rest)->path +
                                  "' in a template archive (only " + kArchiveMetaMember + " and " +
                                  kArchiveImageMember + ")");
  }
  return head;
}

}  // namespace

bool is_template_archive(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return false;
  struct stat st;
  if (::fstat(fd.get(), &st) < 0 || !S_ISREG(st.st_mode)) return false;
  FileRangeSource src(fd.get(), 0, static_cast<uint64_t>(st.st_size), path);
  TarReader tr(src);
  auto first = tr.next();
  return first && *first && (*first)->type == TarType::kFile &&
         (*first)->path == kArchiveMetaMember;
}

Result<void> check_standalone_qcow2(std::string_view info_json) {
  auto brace = info_json.find('{');
  auto j =
      nlohmann::json::parse(info_json.substr(std::min(brace, info_json.size())), nullptr, false);
  if (!j.is_object()) return err(kBadRequest, "qemu-img info gave no JSON for the image");
  if (j.value("format", "") != "qcow2")
    return err(kBadRequest, "the archive's image is not a qcow2 image");
  // A backing or external data file names a path on the host: loading it
  // would hand that file to the guest as its disk.
  for (const char* k : {"backing-filename", "full-backing-filename", "backing-filename-format"})
    if (j.contains(k))
      return err(kBadRequest, "refused: the archive's image has a backing file (" +
                                  (j[k].is_string() ? j[k].get<std::string>() : std::string("?")) +
                                  "); a template archive must hold a standalone image");
  if (auto fs = j.find("format-specific"); fs != j.end() && fs->is_object())
    if (auto d = fs->find("data"); d != fs->end() && d->is_object() && d->contains("data-file"))
      return err(kBadRequest,
                 "refused: the archive's image has an external data file; a template archive "
                 "must hold a standalone image");
  auto vs = j.find("virtual-size");
  if (vs == j.end() || !vs->is_number_unsigned() || vs->get<uint64_t>() > kMaxVirtualBytes)
    return err(kBadRequest, "the archive's image has no plausible virtual size (at most 1 TiB)");
  return ok();
}

Result<uint64_t> export_template(const TemplateEntry& t, const std::string& output,
                                 const std::string& work_dir, uint64_t extra_free_bytes) {
  if (output.empty() || output[0] != '/')
    return err(kBadRequest, "the output path must be absolute: " + output);
  std::string out_dir = dir_of(output);
  if (!is_directory(out_dir))
    return err(kBadRequest,
               "cannot write " + output + ": directory " + out_dir + " does not exist");
  if (is_directory(output))
    return err(kBadRequest, output + " is a directory; name the archive file, e.g. " + output +
                                "/" + t.meta.tag + ".tar");
  if (auto r = make_dirs(work_dir, 0700); !r) return r.error();
  uint64_t need = flattened_bytes(t) + kMarginBytes + extra_free_bytes;
  struct stat a, b;
  bool same_fs =
      ::stat(out_dir.c_str(), &a) == 0 && ::stat(work_dir.c_str(), &b) == 0 && a.st_dev == b.st_dev;
  std::string what = "write template '" + t.meta.tag + "' to " + output;
  if (auto r = check_free_space(what, out_dir, same_fs ? 2 * need : need); !r) return r.error();
  if (!same_fs)
    if (auto r = check_free_space(what, work_dir, need); !r) return r.error();

  // The flattened image: no -B, so qemu-img merges the whole backing chain.
  std::string work =
      work_dir + "/.export-" + t.meta.id.substr(0, 16) + "-" + std::to_string(::getpid());
  (void)remove_tree(work);
  if (auto r = make_dirs(work, 0700); !r) return r.error();
  Removal work_gone{work, true};
  std::string flat = work + "/" + kArchiveImageMember;
  if (auto r = run_checked(
          {"qemu-img", "convert", "-q", "-f", t.meta.format, "-O", "qcow2", t.image_path(), flat});
      !r)
    return r.error().wrap("flatten template '" + t.meta.tag + "' (needs qemu-utils)");

  TemplateMeta m = t.meta;
  m.image = kArchiveImageMember;
  m.format = "qcow2";
  m.parent.clear();
  m.parent_id.clear();
  std::string meta = to_meta_text(m);

  std::string tmp = output + ".tmp-" + std::to_string(::getpid());
  Removal tmp_gone{tmp, false};
  Fd out(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!out) return errno_error("create " + tmp);
  Fd in(::open(flat.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in) return errno_error("open " + flat);
  struct stat fs;
  if (::fstat(in.get(), &fs) < 0) return errno_error("stat " + flat);
  uint64_t flat_bytes = static_cast<uint64_t>(fs.st_size);
  auto wr = [&](const std::string& s) { return write_all(out.get(), s); };
  for (auto r : {wr(TarWriter::file_header(kArchiveMetaMember, meta.size()) + meta +
                    TarWriter::padding(meta.size())),
                 wr(TarWriter::file_header(kArchiveImageMember, flat_bytes))})
    if (!r) return r.error().wrap("write " + tmp);
  if (auto r = copy_into(out.get(), in.get(), flat); !r) return r.error().wrap("write " + tmp);
  if (auto r = wr(TarWriter::padding(flat_bytes) + TarWriter::end_blocks()); !r)
    return r.error().wrap("write " + tmp);
  if (::fsync(out.get()) < 0) return errno_error("fsync " + tmp);
  struct stat done;
  if (::fstat(out.get(), &done) < 0) return errno_error("stat " + tmp);
  out = Fd();
  if (::rename(tmp.c_str(), output.c_str()) < 0) return errno_error("rename " + tmp);
  tmp_gone.path.clear();
  return static_cast<uint64_t>(done.st_size);
}

Result<LoadedTemplate> import_template_archive(const TemplateImportOptions& o) {
  auto head = read_archive(o.archive, "");
  if (!head) return head.error().wrap("load " + o.archive);
  const TemplateMeta& archived = head->meta;
  std::string tag = o.tag.empty() ? archived.tag : o.tag;
  if (auto v = validate_template_tag(tag); !v) return v.error();
  std::string id = sha256_hex(std::string(kArchiveLoaderVersion) + "\n" + archived.id + "\n" +
                              std::to_string(head->image_bytes) + "\n" + tag);
  std::string tdir = templates_dir(o.cache_dir);
  if (auto r = make_dirs(tdir); !r) return r.error();
  std::string dname = template_dir_name(kKind, id);
  std::string dir = tdir + "/" + dname;
  auto lock = FileLock::acquire(tdir + "/." + dname + ".lock");
  if (!lock) return lock.error();
  if (auto other = find_template(list_templates(tdir), tag); other && other->meta.id != id)
    return err(kConflict, "a template named '" + tag +
                              "' already exists; remove it first ('sbx template rm " + tag +
                              "') or load under another name");
  if (auto m = read_template_meta(dir, dname); m && path_exists(dir + "/" + m->image)) {
    auto t = loaded_template(dir, *m);
    t.reused = true;
    return t;
  }
  if (auto r = check_free_space("load " + o.archive, tdir,
                                head->image_bytes + kMarginBytes + o.extra_free_bytes);
      !r)
    return r.error();

  std::string work = tdir + "/.load-" + dname;
  (void)remove_tree(work);
  (void)remove_tree(dir);  // an incomplete leftover
  if (auto r = make_dirs(work, 0700); !r) return r.error();
  Removal work_gone{work, true};
  if (o.progress) o.progress("Unpacking " + format_size(head->image_bytes) + " image...");
  std::string image = work + "/" + kArchiveImageMember;
  auto full = read_archive(o.archive, image);
  if (!full) return full.error().wrap("load " + o.archive);
  auto info = run_checked({"qemu-img", "info", "-f", "qcow2", "--output=json", image});
  if (!info) return info.error().wrap("load " + o.archive + ": inspect its image");
  if (auto r = check_standalone_qcow2(*info); !r) return r.error().wrap("load " + o.archive);

  TemplateMeta m;
  m.tag = tag;
  m.id = id;
  m.origin = TemplateOrigin::kLoaded;
  m.created = now_rfc3339_utc();
  m.image = kArchiveImageMember;
  m.format = "qcow2";
  m.source = o.archive;
  m.archive_format = "sbx";
  m.image_id = archived.id;
  m.inputs = "sbx template archive of '" + archived.tag + "' (" +
             std::string(origin_name(archived.origin)) + ")";
  m.user = archived.user;
  m.working_dir = archived.working_dir;
  m.env = archived.env;
  if (auto r = write_file_atomic(work + "/" + kMetaFile, to_meta_text(m)); !r) return r.error();
  if (::rename(work.c_str(), dir.c_str()) < 0) return errno_error("rename " + work);
  work_gone.path.clear();
  if (o.progress) o.progress("Template '" + tag + "' loaded.");
  return loaded_template(dir, m);
}

}  // namespace sbx::image
