// ApiClient's template calls and the progress streams of create and save.
#include <nlohmann/json.hpp>

#include "client/api_client.h"
#include "proto/json_util.h"

namespace sbx::client {

namespace {

template <class T>
Result<T> decoded(Result<T> r) {
  if (!r) return err("unexpected answer from sandboxd: " + r.error().message);
  return r;
}

// Reads a progress stream: stage lines to `progress`, the final event back.
Result<proto::ProgressEvent> follow_progress(ApiClient& c, const std::string& target,
                                             const std::string& body,
                                             const ApiClient::ProgressFn& progress) {
  std::optional<proto::ProgressEvent> last;
  auto r = c.stream_lines(
      target,
      [&](std::string_view line) {
        auto ev = proto::parse_progress_event(line);
        if (!ev) return true;  // not ours to judge: skip it
        if (!ev->progress.empty()) {
          if (progress) progress(ev->progress);
          return true;
        }
        last = std::move(*ev);
        return false;
      },
      "POST", body);
  if (!r) return r.error();
  if (!last) return err("sandboxd ended the stream without a result; see its log");
  if (last->error) {
    Error e = err(last->code, last->error->message);
    e.exit_code = last->error->exit_code;
    return e;
  }
  return *last;
}

}  // namespace

Result<proto::SandboxInfo> ApiClient::create(const proto::CreateRequest& req,
                                             const ProgressFn& progress) {
  auto ev = follow_progress(*this, "/v1/sandboxes?progress=1", proto::to_json(req), progress);
  if (!ev) return ev.error();
  if (!ev->sandbox) return err("sandboxd answered create without a sandbox");
  return *ev->sandbox;
}

Result<std::vector<proto::TemplateInfo>> ApiClient::templates() {
  auto r = request("GET", "/v1/templates", "", kShortTimeout);
  if (!r) return r.error();
  return decoded(proto::parse_template_list(r->body));
}

Result<std::string> ApiClient::templates_json() {
  auto r = request("GET", "/v1/templates", "", kShortTimeout);
  if (!r) return r.error();
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("templates") || !j["templates"].is_array())
    return err("malformed template list from sandboxd");
  return proto::dump_json(j["templates"], 2);
}

Result<proto::TemplateInfo> ApiClient::template_info(const std::string& tag) {
  auto r = request("GET", "/v1/templates/" + encode_path_segment(tag), "", kShortTimeout);
  if (!r) return r.error();
  return decoded(proto::parse_template_info(r->body));
}

Result<void> ApiClient::remove_template(const std::string& tag) {
  auto r = request("DELETE", "/v1/templates/" + encode_path_segment(tag), "", kShortTimeout);
  if (!r) return r.error();
  return ok();
}

Result<proto::TemplateInfo> ApiClient::save_template(const proto::SaveTemplateRequest& req,
                                                     const ProgressFn& progress) {
  auto ev = follow_progress(*this, "/v1/templates/save?progress=1", proto::to_json(req), progress);
  if (!ev) return ev.error();
  if (!ev->tmpl) return err("sandboxd answered save without a template");
  return *ev->tmpl;
}

}  // namespace sbx::client
