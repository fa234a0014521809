// The daemon API's template routes (/v1/templates..., proto/template_api.h)
// and the create route with progress (POST /v1/sandboxes?progress=1), all
// answered by the TemplateService. A request with ?progress=1 is answered
// with a chunked NDJSON stream: a line per build stage as it happens, then
// the result or the error, so the terminal that asked sees the build.
#pragma once

#include "daemon/api_router.h"
#include "daemon/template_service.h"

namespace sbx::daemon {

class TemplateRoutes {
 public:
  explicit TemplateRoutes(TemplateService& templates) : templates_(templates) {}

  /// Adds the routes to `router` before the sandbox routes, whose plain
  /// create they replace; this object must outlive the router.
  void install(ApiRouter& router);

 private:
  Result<ApiReply> list(const ApiRequest& req);
  Result<ApiReply> inspect(const ApiRequest& req);
  Result<ApiReply> remove(const ApiRequest& req);
  Result<void> save(const ApiRequest& req, ApiConnection& conn);
  Result<void> create(const ApiRequest& req, ApiConnection& conn);

  TemplateService& templates_;
};

/// A job that reports stages and ends with its final event (the result, or
/// ProgressEvent::error set).
using ProgressJob =
    std::function<proto::ProgressEvent(const std::function<void(const std::string&)>& progress)>;

/// Writes a 200 chunked NDJSON response: one {"progress": ...} per stage of
/// `job`, then its final event. A client gone half-way does not stop the job.
void stream_progress(ApiConnection& conn, const ProgressJob& job);

}  // namespace sbx::daemon
