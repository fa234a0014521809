// The daemon API's POST /v1/templates/load: imports a container image
// archive (docker save / OCI layout) from a host path into the template
// cache (image/template_import.h). Kept apart from the other template
// routes so they can install it next to theirs.
#pragma once

#include <string>

#include "base/log.h"
#include "daemon/api_router.h"

namespace sbx::daemon {

class TemplateLoadRoutes {
 public:
  /// `cache_dir` is sbx's cache (templates live below it).
  TemplateLoadRoutes(std::string cache_dir, Logger& log)
      : cache_dir_(std::move(cache_dir)), log_(log) {}

  /// Adds the route to `router`; this object must outlive it.
  void install(ApiRouter& router);

  /// POST /v1/templates/load {archive, tag}: 201 with the template.
  Result<ApiReply> load(const ApiRequest& req);

 private:
  std::string cache_dir_;
  Logger& log_;
};

}  // namespace sbx::daemon
