#include "agent/open_request.h"

#include <gtest/gtest.h>

namespace sbx::agent {
namespace {

TEST(OpenRequest, ExecIsTheDefaultKind) {
  auto r = parse_open_request(R"({"argv":["echo","hi"],"tty":true})");
  ASSERT_TRUE(r) << r.error().message;
  auto* exec = std::get_if<proto::ExecRequest>(&*r);
  ASSERT_NE(exec, nullptr);
  EXPECT_EQ(exec->argv, (std::vector<std::string>{"echo", "hi"}));
  EXPECT_TRUE(exec->tty);
  auto k = parse_open_request(R"({"kind":"exec","argv":["true"]})");
  ASSERT_TRUE(k);
  EXPECT_NE(std::get_if<proto::ExecRequest>(&*k), nullptr);
}

TEST(OpenRequest, TcpKind) {
  auto r = parse_open_request(proto::to_json(proto::TcpConnectRequest{"::1", 5000}));
  ASSERT_TRUE(r) << r.error().message;
  auto* tcp = std::get_if<proto::TcpConnectRequest>(&*r);
  ASSERT_NE(tcp, nullptr);
  EXPECT_EQ(tcp->host, "::1");
  EXPECT_EQ(tcp->port, 5000);
}

TEST(OpenRequest, ErrorsCarryTheParsersMessages) {
  auto egress = parse_open_request(R"({"kind":"egress","mode":"forward"})");
  ASSERT_FALSE(egress);
  EXPECT_EQ(egress.error().message, "egress channels are opened by the guest");
  auto unknown = parse_open_request(R"({"kind":"udp"})");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("unknown kind 'udp'"), std::string::npos);
  auto tcp = parse_open_request(R"({"kind":"tcp","host":"x"})");
  ASSERT_FALSE(tcp);
  EXPECT_EQ(tcp.error().message,
            proto::parse_tcp_connect(R"({"kind":"tcp","host":"x"})").error().message);
  auto exec = parse_open_request(R"({"argv":[]})");
  ASSERT_FALSE(exec);
  EXPECT_EQ(exec.error().message, "exec request: empty argv");
  EXPECT_FALSE(parse_open_request("{not json"));
}

}  // namespace
}  // namespace sbx::agent
