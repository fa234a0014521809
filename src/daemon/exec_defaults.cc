#include "daemon/exec_defaults.h"

namespace sbx::daemon {

std::string image_user_name(const std::string& image_user) {
  return image_user.substr(0, image_user.find(':'));
}

void apply_exec_defaults(proto::ExecRequest& req, const std::string& sandbox_user,
                         const std::string& workspace, const image::TemplateMeta* tmpl) {
  std::string user = tmpl ? image_user_name(tmpl->user) : "";
  if (req.user.empty()) req.user = user.empty() ? sandbox_user : user;
  // Only an absolute WorkingDir: a relative one has no meaning without the
  // image's own runtime.
  bool image_cwd = tmpl && !tmpl->working_dir.empty() && tmpl->working_dir[0] == '/';
  if (req.cwd.empty()) req.cwd = image_cwd ? tmpl->working_dir : workspace;
  if (tmpl) req.env.insert(req.env.begin(), tmpl->env.begin(), tmpl->env.end());
}

}  // namespace sbx::daemon
