#include "proto/template_api.h"

#include "proto/json_util.h"

namespace sbx::proto {

using nlohmann::json;

namespace {

json template_json(const TemplateInfo& t) {
  return {{"tag", t.tag},
          {"id", t.id},
          {"kind", t.kind},
          {"origin", t.origin},
          {"parent", t.parent},
          {"parent_id", t.parent_id},
          {"created", t.created},
          {"size_bytes", t.size_bytes},
          {"inputs", t.inputs},
          {"source", t.source},
          {"sandboxes", t.sandboxes},
          {"children", t.children},
          {"user", t.user},
          {"working_dir", t.working_dir},
          {"env", t.env}};
}

Result<TemplateInfo> template_from(const json& j) {
  if (!j.is_object()) return err("template: not an object");
  TemplateInfo t;
  for (auto r :
       {json_field(j, "tag", t.tag), json_field(j, "id", t.id), json_field(j, "kind", t.kind),
        json_field(j, "origin", t.origin), json_field(j, "parent", t.parent),
        json_field(j, "parent_id", t.parent_id), json_field(j, "created", t.created),
        json_field(j, "size_bytes", t.size_bytes), json_field(j, "inputs", t.inputs),
        json_field(j, "source", t.source), json_field(j, "sandboxes", t.sandboxes),
        json_field(j, "children", t.children), json_field(j, "user", t.user),
        json_field(j, "working_dir", t.working_dir), json_field(j, "env", t.env)})
    if (!r) return r.error().wrap("template");
  return t;
}

}  // namespace

std::string to_json(const TemplateInfo& t) { return dump_json(template_json(t)); }

Result<TemplateInfo> parse_template_info(std::string_view text) {
  auto j = parse_json_object(text, "template");
  if (!j) return j.error();
  return template_from(*j);
}

std::string to_json(const std::vector<TemplateInfo>& list) {
  json arr = json::array();
  for (auto& t : list) arr.push_back(template_json(t));
  return dump_json(json{{"templates", arr}});
}

Result<std::vector<TemplateInfo>> parse_template_list(std::string_view text) {
  auto j = parse_json_object(text, "template list");
  if (!j) return j.error();
  auto it = j->find("templates");
  if (it == j->end() || !it->is_array()) return err("template list: missing 'templates'");
  std::vector<TemplateInfo> out;
  for (auto& e : *it) {
    auto t = template_from(e);
    if (!t) return t.error();
    out.push_back(std::move(*t));
  }
  return out;
}

std::string to_json(const SaveTemplateRequest& r) {
  json j{{"sandbox", r.sandbox}, {"tag", r.tag}, {"stop", r.stop}};
  if (!r.output.empty()) j["output"] = r.output;
  return dump_json(j);
}

Result<SaveTemplateRequest> parse_save_template_request(std::string_view text) {
  auto j = parse_json_object(text, "save request");
  if (!j) return j.error();
  SaveTemplateRequest r;
  for (auto x : {json_required(*j, "sandbox", r.sandbox), json_required(*j, "tag", r.tag),
                 json_field(*j, "stop", r.stop), json_field(*j, "output", r.output)})
    if (!x) return x.error().wrap("save request");
  if (!r.output.empty() && r.output[0] != '/')
    return err("save request: 'output' must be an absolute path");
  return r;
}

std::string to_json(const ProgressEvent& e) {
  json j = json::object();
  if (!e.progress.empty()) j["progress"] = e.progress;
  if (e.sandbox) j["sandbox"] = json::parse(to_json(*e.sandbox));
  if (e.tmpl) j["template"] = template_json(*e.tmpl);
  if (e.error) {
    j["error"] = json::parse(to_json(*e.error));
    j["code"] = e.code;
  }
  return dump_json(j);
}

Result<ProgressEvent> parse_progress_event(std::string_view text) {
  auto j = parse_json_object(text, "progress event");
  if (!j) return j.error();
  ProgressEvent e;
  if (auto r = json_field(*j, "progress", e.progress); !r) return r.error();
  if (auto r = json_field(*j, "code", e.code); !r) return r.error();
  if (auto it = j->find("sandbox"); it != j->end() && it->is_object()) {
    auto s = parse_sandbox_info(it->dump());
    if (!s) return s.error();
    e.sandbox = std::move(*s);
  }
  if (auto it = j->find("template"); it != j->end() && it->is_object()) {
    auto t = template_from(*it);
    if (!t) return t.error();
    e.tmpl = std::move(*t);
  }
  if (auto it = j->find("error"); it != j->end() && it->is_object()) {
    auto a = parse_api_error(it->dump());
    if (!a) return a.error();
    e.error = std::move(*a);
  }
  return e;
}

}  // namespace sbx::proto
