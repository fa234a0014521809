#include "daemon/api_router.h"

#include <gtest/gtest.h>

namespace sbx::daemon {
namespace {

ReplyHandler answer(std::string body) {
  return [body](const ApiRequest&) -> Result<ApiReply> { return ApiReply{200, body}; };
}

TEST(ApiRouter, MatchesLiteralsAndCaptures) {
  ApiRouter r;
  r.add("GET", "/v1/sandboxes", answer("list"));
  r.add("GET", "/v1/sandboxes/{name}", answer("get"));
  r.add("POST", "/v1/sandboxes/{name}/start", answer("start"));
  auto m = r.match("POST", "/v1/sandboxes/web-1/start");
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->params.at("name"), "web-1");
  EXPECT_EQ(m->route->reply(ApiRequest{})->body, "start");
  auto l = r.match("GET", "/v1/sandboxes/");  // a trailing slash is the same path
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->route->reply(ApiRequest{})->body, "list");
  EXPECT_TRUE(l->params.empty());
}

TEST(ApiRouter, UnknownPathIs404WrongMethodIs405) {
  ApiRouter r;
  r.add("GET", "/v1/sandboxes/{name}", answer("get"));
  r.add("DELETE", "/v1/sandboxes/{name}", answer("rm"));
  auto none = r.match("GET", "/v1/sandboxes/a/b");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, kNotFound);
  EXPECT_NE(none.error().message.find("/v1/sandboxes/a/b"), std::string::npos);
  auto wrong = r.match("POST", "/v1/sandboxes/a");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, kMethodNotAllowed);
  EXPECT_NE(wrong.error().message.find("GET, DELETE"), std::string::npos) << wrong.error().message;
  EXPECT_EQ(r.allowed_methods("/v1/sandboxes/zz"), "GET, DELETE");
  EXPECT_EQ(r.allowed_methods("/v1"), "");
}

TEST(ApiRequest, QueryHelpers) {
  ApiRequest q;
  q.query = "force=1&sandbox=pol&limit=5&dry_run";
  EXPECT_TRUE(q.query_flag("force"));
  EXPECT_TRUE(q.query_flag("dry_run"));
  EXPECT_FALSE(q.query_flag("sandbox"));
  EXPECT_EQ(q.query_value("sandbox"), "pol");
  EXPECT_EQ(q.query_value("limit"), "5");
  EXPECT_EQ(q.query_value("nope"), "");
  EXPECT_EQ(q.param("name"), "");
}

}  // namespace
}  // namespace sbx::daemon
