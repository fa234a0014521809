// The daemon API's template routes and progress stream (types and codecs).
//
//   GET    /v1/templates                 -> {"templates": [TemplateInfo...]}
//          (layers, bases and loaded images: one catalog)
//   GET    /v1/templates/{tag}           -> TemplateInfo (404 unknown)
//   DELETE /v1/templates/{tag}           -> 204 (409 while a sandbox or a
//          layer uses it)
//   POST   /v1/templates/save  SaveTemplateRequest -> 201 TemplateInfo (409
//          when the sandbox runs and "stop" is false, or the tag exists;
//          507 without disk space); with "output" the template is also
//          written to that archive; ?progress=1 streams ProgressEvents
//   POST   /v1/sandboxes?progress=1 (api.h) streams ProgressEvents too.
//
// A progress stream is chunked application/x-ndjson, one ProgressEvent per
// line; the last carries "sandbox"/"template" on success or "error".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "proto/api.h"

namespace sbx::proto {

/// One template, as `sbx template ls/inspect` shows it.
struct TemplateInfo {
  std::string tag;
  std::string id;
  std::string kind;    ///< "base" or "layer"
  std::string origin;  ///< "base", "saved" or "built"
  std::string parent;  ///< parent's tag; empty for a base
  std::string parent_id;
  std::string created;      ///< RFC 3339 UTC
  uint64_t size_bytes = 0;  ///< bytes on disk (a layer's own delta)
  std::string inputs;
  std::string source;                  ///< the sandbox saved or the kit built
  std::vector<std::string> sandboxes;  ///< sandboxes layered on it
  std::vector<std::string> children;   ///< templates layered on it
  /// A loaded image's User, WorkingDir and Env, applied to sessions of
  /// sandboxes made from it (docs/design.md); empty otherwise.
  std::string user;
  std::string working_dir;
  std::vector<std::string> env;
};
std::string to_json(const TemplateInfo& t);
Result<TemplateInfo> parse_template_info(std::string_view json);
std::string to_json(const std::vector<TemplateInfo>& list);
Result<std::vector<TemplateInfo>> parse_template_list(std::string_view json);

/// POST /v1/templates/save
struct SaveTemplateRequest {
  std::string sandbox;  ///< required
  std::string tag;      ///< required
  bool stop = false;    ///< stop the sandbox first if it runs (else 409)
  /// Also write the template to this archive (absolute host path): a tar
  /// of sbx-template.meta and a flattened rootfs.qcow2 (`--output`).
  std::string output;
};
std::string to_json(const SaveTemplateRequest& r);
Result<SaveTemplateRequest> parse_save_template_request(std::string_view json);

/// One line of a progress stream.
struct ProgressEvent {
  std::string progress;                ///< a stage line for the terminal
  std::optional<SandboxInfo> sandbox;  ///< final: the sandbox made
  std::optional<TemplateInfo> tmpl;    ///< final: the template saved
  std::optional<ApiError> error;       ///< final: what failed
  int code = 0;                        ///< with error: its HTTP status
};
std::string to_json(const ProgressEvent& e);
Result<ProgressEvent> parse_progress_event(std::string_view json);

}  // namespace sbx::proto
