#include "proto/template_api.h"

#include <gtest/gtest.h>

namespace sbx::proto {
namespace {

TEST(TemplateApi, TemplateInfoCarriesALoadedImagesConfig) {
  TemplateInfo t;
  t.tag = "team/app:1";
  t.id = "abcd";
  t.kind = "base";
  t.origin = "loaded";
  t.user = "tester";
  t.working_dir = "/srv/app";
  t.env = {"A=1", "B=2"};
  auto back = parse_template_info(to_json(t));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->origin, "loaded");
  EXPECT_EQ(back->user, "tester");
  EXPECT_EQ(back->working_dir, "/srv/app");
  EXPECT_EQ(back->env, t.env);
  auto list = parse_template_list(to_json(std::vector<TemplateInfo>{t}));
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->at(0).env, t.env);
}

TEST(TemplateApi, SaveRequestOutputIsOptionalAndAbsolute) {
  SaveTemplateRequest r{"box", "mine:1", true, "/tmp/mine.tar"};
  auto back = parse_save_template_request(to_json(r));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->output, "/tmp/mine.tar");
  EXPECT_TRUE(back->stop);
  auto none = parse_save_template_request(R"({"sandbox":"box","tag":"t"})");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->output.empty());
  auto rel = parse_save_template_request(R"({"sandbox":"box","tag":"t","output":"x.tar"})");
  ASSERT_FALSE(rel.ok());
  EXPECT_NE(rel.error().message.find("absolute"), std::string::npos);
}

}  // namespace
}  // namespace sbx::proto
