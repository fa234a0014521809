#include "daemon/exec_defaults.h"

#include <gtest/gtest.h>

namespace sbx::daemon {
namespace {

image::TemplateMeta loaded_image() {
  image::TemplateMeta m;
  m.tag = "app:1";
  m.id = "1234";
  m.origin = image::TemplateOrigin::kLoaded;
  m.user = "tester:staff";
  m.working_dir = "/srv/app";
  m.env = {"PATH=/opt/app/bin:/usr/bin:/bin", "GREETING=hello"};
  return m;
}

TEST(ExecDefaults, WithoutAnImageConfigTheSandboxUserAndWorkspace) {
  proto::ExecRequest req;
  req.env = {"A=1"};
  image::TemplateMeta layer;  // a saved layer: no image config
  apply_exec_defaults(req, "agent", "/home/me/ws", &layer);
  EXPECT_EQ(req.user, "agent");
  EXPECT_EQ(req.cwd, "/home/me/ws");
  EXPECT_EQ(req.env, std::vector<std::string>{"A=1"});
  proto::ExecRequest unknown;
  apply_exec_defaults(unknown, "root", "/ws", nullptr);
  EXPECT_EQ(unknown.user, "root");
  EXPECT_EQ(unknown.cwd, "/ws");
}

TEST(ExecDefaults, AnImagesUserWorkdirAndEnvFillWhatTheRequestLeftOpen) {
  auto img = loaded_image();
  proto::ExecRequest req;
  req.env = {"GREETING=from -e"};
  apply_exec_defaults(req, "agent", "/ws", &img);
  EXPECT_EQ(req.user, "tester");  // the group part is the user's own
  EXPECT_EQ(req.cwd, "/srv/app");
  // The image's first, so the request's own -e comes later and wins.
  EXPECT_EQ(req.env, (std::vector<std::string>{"PATH=/opt/app/bin:/usr/bin:/bin", "GREETING=hello",
                                               "GREETING=from -e"}));
}

TEST(ExecDefaults, TheRequestWinsAndRunKeepsTheWorkspace) {
  auto img = loaded_image();
  // `sbx run` names the workspace as cwd; `-u` names a user.
  proto::ExecRequest req;
  req.user = "root";
  req.cwd = "/ws";
  apply_exec_defaults(req, "agent", "/ws", &img);
  EXPECT_EQ(req.user, "root");
  EXPECT_EQ(req.cwd, "/ws");
  // A relative WorkingDir is not used.
  img.working_dir = "rel";
  img.user = "";
  proto::ExecRequest r2;
  apply_exec_defaults(r2, "agent", "/ws", &img);
  EXPECT_EQ(r2.cwd, "/ws");
  EXPECT_EQ(r2.user, "agent");
}

TEST(ExecDefaults, ImageUserName) {
  EXPECT_EQ(image_user_name("1000:1000"), "1000");
  EXPECT_EQ(image_user_name("node"), "node");
  EXPECT_EQ(image_user_name(""), "");
}

}  // namespace
}  // namespace sbx::daemon
