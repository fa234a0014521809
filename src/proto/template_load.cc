#include "proto/template_load.h"

#include "proto/json_util.h"

namespace sbx::proto {

std::string to_json(const TemplateLoadRequest& r) {
  return dump_json({{"archive", r.archive}, {"tag", r.tag}});
}

Result<TemplateLoadRequest> parse_template_load_request(std::string_view text) {
  auto j = parse_json_object(text, "template load request");
  if (!j) return j.error();
  TemplateLoadRequest r;
  for (auto x : {json_required(*j, "archive", r.archive), json_field(*j, "tag", r.tag)})
    if (!x) return x.error().wrap("template load request");
  if (r.archive.empty() || r.archive[0] != '/')
    return err("template load request: 'archive' must be an absolute path");
  return r;
}

std::string to_json(const LoadedTemplateInfo& t) {
  return dump_json({{"name", t.name},
                    {"id", t.id},
                    {"format", t.format},
                    {"image_id", t.image_id},
                    {"user", t.user},
                    {"env", t.env},
                    {"working_dir", t.working_dir},
                    {"size_bytes", t.size_bytes},
                    {"reused", t.reused}});
}

Result<LoadedTemplateInfo> parse_loaded_template_info(std::string_view text) {
  auto j = parse_json_object(text, "loaded template");
  if (!j) return j.error();
  LoadedTemplateInfo t;
  for (auto x : {json_required(*j, "name", t.name), json_field(*j, "id", t.id),
                 json_field(*j, "format", t.format), json_field(*j, "image_id", t.image_id),
                 json_field(*j, "user", t.user), json_field(*j, "env", t.env),
                 json_field(*j, "working_dir", t.working_dir),
                 json_field(*j, "size_bytes", t.size_bytes), json_field(*j, "reused", t.reused)})
    if (!x) return x.error().wrap("loaded template");
  return t;
}

}  // namespace sbx::proto
