// What a session runs as, where, and with which environment when its
// request leaves that to sbx: the sandbox's own user and workspace, or,
// for a sandbox made from a loaded container image, the image's User,
// WorkingDir and Env (docs/design.md, "exec").
#pragma once

#include <string>

#include "image/template_layer.h"
#include "proto/messages.h"

namespace sbx::daemon {

/// The user part of an image's User ("name", "uid", or either with
/// ":group"; the group is the user's own in the guest).
std::string image_user_name(const std::string& image_user);

/// Fills what `req` left empty: its user (the image's User, else
/// `sandbox_user`) and cwd (the image's WorkingDir, else `workspace`), and
/// puts the image's Env before the request's own variables, so `-e` wins.
/// `tmpl` is the sandbox's template, or null when it is not known.
void apply_exec_defaults(proto::ExecRequest& req, const std::string& sandbox_user,
                         const std::string& workspace, const image::TemplateMeta* tmpl);

}  // namespace sbx::daemon
