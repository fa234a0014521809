#include "proto/messages.h"

#include <gtest/gtest.h>

namespace sbx::proto {
namespace {

TEST(Messages, ExecRequestRoundTrip) {
  ExecRequest r;
  r.argv = {"sh", "-c", "echo hi"};
  r.env = {"A=1", "B=x=y"};
  r.cwd = "/work";
  r.user = "agent";
  r.tty = true;
  r.rows = 50;
  r.cols = 120;
  auto p = parse_exec_request(to_json(r));
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->argv, r.argv);
  EXPECT_EQ(p->env, r.env);
  EXPECT_EQ(p->cwd, "/work");
  EXPECT_EQ(p->user, "agent");
  EXPECT_TRUE(p->tty);
  EXPECT_EQ(p->rows, 50);
  EXPECT_EQ(p->cols, 120);
}

TEST(Messages, ExecRequestRejectsHostileInput) {
  const char* bad[] = {
      "",
      "[]",
      "{\"argv\": []}",
      "{\"argv\": \"sh\"}",
      "{\"argv\": [1]}",
      "{\"argv\": [\"sh\"], \"env\": [\"NOEQUALS\"]}",
      "{\"argv\": [\"sh\"], \"env\": [\"=x\"]}",
      "{\"argv\": [\"sh\"], \"cwd\": \"relative\"}",
      "{\"argv\": [\"sh\"], \"rows\": 70000}",
      "{\"argv\": [\"sh\"], \"rows\": -1}",
      "{\"argv\": [\"sh\"], \"tty\": \"yes\"}",
      "{\"argv\": [\"a\\u0000b\"]}",
      "{\"argv\": [\"sh\"]",
  };
  for (auto* b : bad) EXPECT_FALSE(parse_exec_request(b).ok()) << b;
}

TEST(Messages, ExecRequestBoundsArgCount) {
  std::string j = "{\"argv\": [";
  for (size_t i = 0; i <= kMaxArgs; ++i) j += (i ? ",\"x\"" : "\"x\"");
  j += "]}";
  EXPECT_FALSE(parse_exec_request(j).ok());
}

TEST(Messages, DeeplyNestedJsonDoesNotCrash) {
  std::string j(100000, '[');
  EXPECT_FALSE(parse_exec_request(j).ok());
  std::string k = "{\"argv\":" + std::string(50000, '[') + std::string(50000, ']') + "}";
  EXPECT_FALSE(parse_exec_request(k).ok());
}

TEST(Messages, ExitRoundTripAndBounds) {
  auto e = parse_exit(to_json(ExitInfo{137, 9}));
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->exit_code, 137);
  EXPECT_EQ(e->signal, 9);
  EXPECT_FALSE(parse_exit("{\"exit_code\": 256}").ok());
  EXPECT_FALSE(parse_exit("{\"exit_code\": 18446744073709551615}").ok());
}

TEST(Messages, ControlRoundTrip) {
  auto r = parse_control_request(to_json(ControlRequest{7, "shutdown"}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->id, 7u);
  EXPECT_EQ(r->op, "shutdown");
  EXPECT_FALSE(parse_control_request("{\"id\":1}").ok());
  ControlResponse resp{7, false, "nope", "{\"a\":1}"};
  auto p = parse_control_response(to_json(resp));
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->ok);
  EXPECT_EQ(p->error, "nope");
  EXPECT_EQ(p->body, "{\"a\":1}");
}

TEST(Messages, OpenFailureRoundTrip) {
  auto f = parse_open_failure(to_json(OpenFailure{"not found: foo", 127}));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->code, 127);
  EXPECT_EQ(f->error, "not found: foo");
}

TEST(Messages, EgressOpenRoundTripsAndRefusesBadDestinations) {
  auto fwd = parse_egress_open(to_json(EgressOpen{}));
  ASSERT_TRUE(fwd.ok()) << fwd.error().message;
  EXPECT_EQ(fwd->mode, "forward");
  auto kind = open_kind(to_json(EgressOpen{}));
  ASSERT_TRUE(kind.ok());
  EXPECT_EQ(*kind, "egress");
  auto tr = parse_egress_open(to_json(EgressOpen{"transparent", "2001:db8::1", 22}));
  ASSERT_TRUE(tr.ok()) << tr.error().message;
  EXPECT_EQ(tr->ip, "2001:db8::1");
  EXPECT_EQ(tr->port, 22);
  EXPECT_FALSE(parse_egress_open(R"({"mode":"transparent","ip":"1.2.3.4"})").ok());
  EXPECT_FALSE(parse_egress_open(R"({"mode":"transparent","ip":"1.2.3.4","port":0})").ok());
  EXPECT_FALSE(parse_egress_open(R"({"mode":"transparent","ip":"example.com","port":80})").ok());
  EXPECT_FALSE(parse_egress_open(R"({"mode":"tunnel"})").ok());
  EXPECT_FALSE(parse_egress_open(R"({"mode":"transparent","ip":"1.2.3.4\u0000x","port":80})").ok());
  EXPECT_FALSE(parse_egress_open("[]").ok());
}

}  // namespace
}  // namespace sbx::proto
