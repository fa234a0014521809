#include "daemon/template_load_routes.h"

#include "image/template_import.h"
#include "proto/template_load.h"

namespace sbx::daemon {

void TemplateLoadRoutes::install(ApiRouter& r) {
  r.add("POST", "/v1/templates/load", [this](const ApiRequest& req) { return load(req); });
}

Result<ApiReply> TemplateLoadRoutes::load(const ApiRequest& req) {
  auto lr = proto::parse_template_load_request(req.body);
  if (!lr) return err(kBadRequest, lr.error().message);
  // The socket is the user's own (0600): the daemon reads what they named,
  // as they could themselves.
  image::TemplateImportOptions o;
  o.archive = lr->archive;
  o.tag = lr->tag;
  o.cache_dir = cache_dir_;
  o.progress = [this](const std::string& line) { log_.info("template load: " + line); };
  log_.info("template load: " + lr->archive + (lr->tag.empty() ? "" : " as " + lr->tag));
  auto t = image::import_image_template(o);
  if (!t) {
    log_.warn("template load: " + t.error().message);
    return t.error();
  }
  proto::LoadedTemplateInfo info;
  info.name = t->name;
  info.id = t->id;
  info.format = t->format;
  info.image_id = t->image_id;
  info.user = t->config.user;
  info.env = t->config.env;
  info.working_dir = t->config.working_dir;
  info.size_bytes = t->size_bytes;
  info.reused = t->reused;
  return ApiReply{t->reused ? 200 : 201, proto::to_json(info)};
}

}  // namespace sbx::daemon
