#include "image/template_layer.h"

#include <unistd.h>

#include <ctime>

#include "base/child_process.h"
#include "base/files.h"
#include "base/strings.h"

namespace sbx::image {

namespace {
constexpr size_t kIdDigits = 16;
constexpr size_t kMaxTagLength = 128;
// A metadata file is a few hundred bytes; anything far larger is not ours.
constexpr size_t kMaxMetaBytes = 64 * 1024;

bool tag_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == ':' ||
         c == '-' || c == '/';
}

std::string one_line(const std::string& v) {
  std::string out = v;
  for (auto& c : out)
    if (c == '\n' || c == '\r') c = ' ';
  return out;
}
}  // namespace

std::string_view origin_name(TemplateOrigin o) {
  switch (o) {
    case TemplateOrigin::kBase:
      return "base";
    case TemplateOrigin::kSaved:
      return "saved";
    case TemplateOrigin::kBuilt:
      return "built";
    case TemplateOrigin::kLoaded:
      return "loaded";
  }
  return "base";
}

Result<TemplateOrigin> parse_origin(std::string_view s) {
  if (s == "base") return TemplateOrigin::kBase;
  if (s == "saved") return TemplateOrigin::kSaved;
  if (s == "built") return TemplateOrigin::kBuilt;
  if (s == "loaded") return TemplateOrigin::kLoaded;
  return err("unknown template origin '" + std::string(s) + "'");
}

std::string to_meta_text(const TemplateMeta& m) {
  std::string out;
  auto put = [&](const char* k, const std::string& v) {
    out += std::string(k) + "=" + one_line(v) + "\n";
  };
  put("tag", m.tag);
  put("id", m.id);
  put("origin", std::string(origin_name(m.origin)));
  put("parent", m.parent);
  put("parent_id", m.parent_id);
  put("created", m.created);
  put("inputs", m.inputs);
  put("image", m.image);
  put("format", m.format);
  put("source", m.source);
  // Only what is set: layers and bases stay as they were written before.
  if (!m.user.empty()) put("user", m.user);
  if (!m.working_dir.empty()) put("working_dir", m.working_dir);
  for (auto& e : m.env) put("env", e);
  if (!m.image_id.empty()) put("image_id", m.image_id);
  if (!m.archive_format.empty()) put("archive_format", m.archive_format);
  return out;
}

Result<TemplateMeta> parse_meta_text(std::string_view text) {
  if (text.size() > kMaxMetaBytes) return err("template metadata larger than 64 KiB");
  TemplateMeta m;
  for (auto& line : split(text, '\n')) {
    if (line.empty()) continue;
    auto eq = line.find('=');
    if (eq == std::string::npos) return err("template metadata line without '=': " + line);
    std::string k = line.substr(0, eq), v = line.substr(eq + 1);
    if (k == "tag")
      m.tag = v;
    else if (k == "id")
      m.id = v;
    else if (k == "origin") {
      auto o = parse_origin(v);
      if (!o) return o.error();
      m.origin = *o;
    } else if (k == "parent")
      m.parent = v;
    else if (k == "parent_id")
      m.parent_id = v;
    else if (k == "created")
      m.created = v;
    else if (k == "inputs")
      m.inputs = v;
    else if (k == "image")
      m.image = v;
    else if (k == "format")
      m.format = v;
    else if (k == "source")
      m.source = v;
    else if (k == "user")
      m.user = v;
    else if (k == "working_dir")
      m.working_dir = v;
    else if (k == "env")
      m.env.push_back(v);
    else if (k == "image_id")
      m.image_id = v;
    else if (k == "archive_format")
      m.archive_format = v;
  }
  if (m.tag.empty() || m.id.empty() || m.image.empty())
    return err("template metadata lacks tag, id or image");
  // The image is a file name in the template's own directory, nothing else.
  if (m.image.find('/') != std::string::npos || m.image[0] == '.')
    return err("template metadata names an image outside its directory: " + m.image);
  if (m.format != "raw" && m.format != "qcow2")
    return err("template metadata has unknown image format '" + m.format + "'");
  return m;
}

Result<void> validate_template_tag(std::string_view tag) {
  auto bad = [&](const std::string& why) {
    return err(kBadRequest, "invalid template tag '" + std::string(tag) + "': " + why +
                                " (use 1-128 of a-z 0-9 _ . : / -, starting with a letter or "
                                "digit, e.g. myproject:v1)");
  };
  if (tag.empty() || tag.size() > kMaxTagLength) return bad("wrong length");
  if (!((tag[0] >= 'a' && tag[0] <= 'z') || (tag[0] >= '0' && tag[0] <= '9')))
    return bad("must start with a letter or digit");
  for (char c : tag)
    if (!tag_char(c)) return bad(std::string("character '") + c + "' is not allowed");
  // '/' separates path components, as in Docker's names: never "..".
  for (auto& part : split(tag, '/'))
    if (part.empty() || part == "." || part == "..") return bad("empty or dot path component");
  return ok();
}

std::string layer_dir_name(const std::string& tag, const std::string& id) {
  std::string t = tag;
  for (auto& c : t)
    if (c == ':')
      c = '@';
    else if (c == '/')
      c = '+';
  return "layer-" + t + "-" + id.substr(0, kIdDigits);
}

Result<void> write_layer(const std::string& overlay, const std::string& parent_image,
                         const std::string& parent_format, const std::string& dest) {
  auto parent = absolute_path(parent_image);
  if (!parent) return parent.error().wrap("parent image");
  if (path_exists(dest)) return err("layer " + dest + " already exists");
  // -B: the output is a copy-on-write image over the parent; qemu-img then
  // copies only what the overlay itself holds (zeroed clusters included,
  // as zero clusters), not the parent's data.
  auto r = run_checked({"qemu-img", "convert", "-q", "-f", "qcow2", "-O", "qcow2", "-B", *parent,
                        "-F", parent_format, overlay, dest});
  if (!r) {
    (void)::unlink(dest.c_str());
    return r.error().wrap("convert " + overlay + " into a layer (needs qemu-utils)");
  }
  return ok();
}

Result<std::string> save_layer(const std::string& templates_dir, const std::string& overlay,
                               const std::string& parent_image, const std::string& parent_format,
                               TemplateMeta meta) {
  if (auto v = validate_template_tag(meta.tag); !v) return v.error();
  std::string name = layer_dir_name(meta.tag, meta.id);
  std::string dir = templates_dir + "/" + name;
  if (path_exists(dir)) return err(kConflict, "template '" + meta.tag + "' already exists");
  std::string work = templates_dir + "/.save-" + name;
  (void)remove_tree(work);
  if (auto r = make_dirs(work, 0700); !r) return r.error();
  auto fail = [&](const Error& e) -> Error {
    (void)remove_tree(work);
    return e;
  };
  meta.image = kLayerImage;
  meta.format = "qcow2";
  if (meta.created.empty()) meta.created = now_rfc3339_utc();
  if (auto r = write_layer(overlay, parent_image, parent_format, work + "/" + kLayerImage); !r)
    return fail(r.error());
  if (auto r = write_file_atomic(work + "/" + kMetaFile, to_meta_text(meta)); !r)
    return fail(r.error());
  if (::rename(work.c_str(), dir.c_str()) < 0) return fail(errno_error("rename " + work));
  return dir;
}

std::string now_rfc3339_utc() {
  time_t t = time(nullptr);
  tm g;
  gmtime_r(&t, &g);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &g);
  return buf;
}

}  // namespace sbx::image
