#include "proto/api.h"
#include "proto/messages.h"

#include <gtest/gtest.h>

namespace sbx::proto {
namespace {

TEST(Api, SandboxInfoRoundTrip) {
  SandboxInfo s;
  s.name = "shell-x";
  s.agent = "shell";
  s.status = "running";
  s.workspace = "/home/u/x";
  s.memory_bytes = 1ull << 30;
  s.cpus = 2;
  s.ports.push_back(PortMapping{"127.0.0.1", 49152, 5000, "tcp"});
  auto list = parse_sandbox_list(to_json(std::vector<SandboxInfo>{s}));
  ASSERT_TRUE(list.ok()) << list.error().message;
  ASSERT_EQ(list->size(), 1u);
  auto& g = (*list)[0];
  EXPECT_EQ(g.name, "shell-x");
  EXPECT_EQ(g.memory_bytes, 1ull << 30);
  ASSERT_EQ(g.ports.size(), 1u);
  EXPECT_EQ(g.ports[0].host_port, 49152);
}

TEST(Api, CreateRequestTypeErrors) {
  EXPECT_FALSE(parse_create_request("{\"cpus\": \"two\"}").ok());
  EXPECT_FALSE(parse_create_request("{\"cpus\": -3}").ok());
  EXPECT_FALSE(parse_create_request("not json").ok());
  auto r = parse_create_request("{\"workspace\": \"/x\"}");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->agent, "shell");
}

TEST(Api, NameValidation) {
  EXPECT_TRUE(validate_sandbox_name("shell-sbx-test").ok());
  EXPECT_TRUE(validate_sandbox_name("a").ok());
  EXPECT_FALSE(validate_sandbox_name("").ok());
  EXPECT_FALSE(validate_sandbox_name("-x").ok());
  EXPECT_FALSE(validate_sandbox_name("Upper").ok());
  EXPECT_FALSE(validate_sandbox_name("a/b").ok());
  EXPECT_FALSE(validate_sandbox_name("../etc").ok());
  EXPECT_FALSE(validate_sandbox_name(std::string(64, 'a')).ok());
}

TEST(Api, DefaultNameIsAgentDashDir) {
  EXPECT_EQ(default_sandbox_name("shell", "/home/u/sbx-test"), "shell-sbx-test");
  EXPECT_EQ(default_sandbox_name("shell", "/home/u/My Project!/"), "shell-my-project");
  EXPECT_EQ(default_sandbox_name("shell", "/"), "shell-root");
  EXPECT_TRUE(validate_sandbox_name(default_sandbox_name("shell", "/x/" + std::string(100, 'q'))).ok());
  EXPECT_TRUE(validate_sandbox_name(default_sandbox_name("shell", "/x/ÄÖ")).ok());
}

}  // namespace
}  // namespace sbx::proto

namespace sbx::proto {
namespace {

TEST(PortSpec, Forms) {
  auto a = parse_port_spec("5000");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host_ip, "127.0.0.1");
  EXPECT_EQ(a->host_port, 0);
  EXPECT_EQ(a->sandbox_port, 5000);
  auto b = parse_port_spec("8080:5000/tcp");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host_port, 8080);
  auto c = parse_port_spec("0.0.0.0:8080:5000");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->host_ip, "0.0.0.0");
  EXPECT_EQ(format_port(*c), "0.0.0.0:8080->5000/tcp");
}

TEST(PortSpec, RejectsMalformed) {
  for (auto s : {"", "abc", "0", "70000", "1:2:3:4", "5000/udp", "300.1.1.1:80:80", "a:80",
                 "80:", ":80", "-1", "127.0.0.1:80"}) {
    EXPECT_FALSE(parse_port_spec(s).ok()) << s;
  }
}

TEST(PortSpec, Unpublish) {
  auto a = parse_unpublish_spec("49152");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host_port, 49152);
  EXPECT_EQ(a->sandbox_port, 0);
  EXPECT_EQ(a->host_ip, "");
  auto b = parse_unpublish_spec("127.0.0.1:8080:5000");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host_ip, "127.0.0.1");
  EXPECT_EQ(b->sandbox_port, 5000);
  EXPECT_FALSE(parse_unpublish_spec("5000:").ok());
  EXPECT_FALSE(parse_unpublish_spec("x").ok());
}

TEST(PortSpec, ListAndCreateRoundTrip) {
  std::vector<PortMapping> v{{"127.0.0.1", 49152, 5000, "tcp"}};
  auto l = parse_port_list(to_json(v));
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->size(), 1u);
  EXPECT_EQ((*l)[0].sandbox_port, 5000);
  CreateRequest r;
  r.workspace = "/x";
  r.ports = v;
  r.docker_bytes = 5ull << 30;
  auto p = parse_create_request(to_json(r));
  ASSERT_TRUE(p.ok()) << p.error().message;
  ASSERT_EQ(p->ports.size(), 1u);
  EXPECT_EQ(p->docker_bytes, 5ull << 30);
  EXPECT_FALSE(parse_port_mapping("{\"proto\":\"udp\",\"sandbox_port\":1}").ok());
}

TEST(DenyNetwork, TravelsInCreateRequestAndSandboxInfo) {
  CreateRequest r;
  r.workspace = "/x";
  EXPECT_FALSE(parse_create_request(to_json(r))->deny_network);
  r.deny_network = true;
  auto p = parse_create_request(to_json(r));
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_TRUE(p->deny_network);
  // Older clients do not send it: the default is the policy's say.
  EXPECT_FALSE(parse_create_request(R"({"workspace":"/x"})")->deny_network);
  EXPECT_FALSE(parse_create_request(R"({"workspace":"/x","deny_network":"yes"})").ok());
  SandboxInfo s;
  s.name = "a";
  s.deny_network = true;
  auto q = parse_sandbox_info(to_json(s));
  ASSERT_TRUE(q.ok());
  EXPECT_TRUE(q->deny_network);
  EXPECT_NE(to_json(s).find("\"deny_network\":true"), std::string::npos);
}

TEST(OpenKind, TcpAndExec) {
  EXPECT_EQ(*open_kind(to_json(TcpConnectRequest{"127.0.0.1", 80})), "tcp");
  EXPECT_EQ(*open_kind("{\"argv\":[\"x\"]}"), "exec");
  EXPECT_FALSE(open_kind("{\"kind\":\"bogus\"}").ok());
  auto t = parse_tcp_connect(to_json(TcpConnectRequest{"127.0.0.1", 5000}));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->port, 5000);
  EXPECT_FALSE(parse_tcp_connect("{\"port\":0}").ok());
  EXPECT_FALSE(parse_tcp_connect("{\"host\":\"127.0.0.1\"}").ok());  // fuzz finding
  EXPECT_FALSE(parse_tcp_connect("{}").ok());
  EXPECT_FALSE(parse_tcp_connect("{\"port\":70000}").ok());
}

}  // namespace
}  // namespace sbx::proto
