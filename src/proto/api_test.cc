#include "proto/api.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "proto/messages.h"

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
  EXPECT_TRUE(
      validate_sandbox_name(default_sandbox_name("shell", "/x/" + std::string(100, 'q'))).ok());
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

TEST(KitFields, TravelInCreateRequest) {
  CreateRequest r;
  r.workspace = "/x";
  auto d = parse_create_request(to_json(r));
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->kit);
  EXPECT_TRUE(d->host_config);
  r.kit = KitBundle{"name: mine\n", {{"files/a.bin", std::string("\xff\0x", 3)}}};
  r.host_config = false;
  auto p = parse_create_request(to_json(r));
  ASSERT_TRUE(p.ok()) << p.error().message;
  ASSERT_TRUE(p->kit);
  EXPECT_EQ(p->kit->yaml, "name: mine\n");
  EXPECT_EQ(p->kit->files, r.kit->files);
  EXPECT_FALSE(p->host_config);
  // Older clients do not send them: the kit is the agent's, settings come along.
  EXPECT_TRUE(parse_create_request(R"({"workspace":"/x"})")->host_config);
  auto bad = parse_create_request(R"({"workspace":"/x","kit":{"yaml":"%%%%"}})");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("create request: kit: kit.yaml: base64"), std::string::npos)
      << bad.error().message;
  EXPECT_FALSE(parse_create_request(R"({"workspace":"/x","kit":"rel/kit"})").ok());
  EXPECT_FALSE(parse_create_request(R"({"workspace":"/x","host_config":"no"})").ok());
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

namespace sbx::proto {
namespace {

// Expects `r` to fail with a message that names `field`.
template <class T>
void expect_refused(const Result<T>& r, const std::string& field) {
  ASSERT_FALSE(r.ok()) << "accepted; expected a complaint about '" << field << "'";
  EXPECT_NE(r.error().message.find("'" + field + "'"), std::string::npos) << r.error().message;
}

TEST(Utf8, InvalidBytesInAnErrorAreReplacedNotThrown) {
  SandboxInfo s;
  s.name = "a";
  s.error = "console: \xff\xfe boot failed";
  std::string text;
  ASSERT_NO_THROW(text = to_json(s));
  auto back = parse_sandbox_info(text);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->error, "console: \xEF\xBF\xBD\xEF\xBF\xBD boot failed");  // U+FFFD each
  ASSERT_NO_THROW(text = to_json(std::vector<SandboxInfo>{s}));
  auto list = parse_sandbox_list(text);
  ASSERT_TRUE(list.ok()) << list.error().message;
  // The result re-serialises with the strict (throwing) default: valid UTF-8.
  EXPECT_NO_THROW(nlohmann::json((*list)[0].error).dump());
  ASSERT_NO_THROW(text = to_json(ApiError{"bad \xc3", 0}));
  EXPECT_TRUE(parse_api_error(text).ok());
}

TEST(PolicyMessages, ListingRoundTrip) {
  PolicyListing l;
  l.preset = "balanced";
  l.rules.push_back(PolicyRule{7, "global", "allow", "example.org"});
  l.rules.push_back(PolicyRule{8, "pol", "deny", "*.bad.net:443"});
  l.builtin = {"allow deb.debian.org"};
  auto b = parse_policy_listing(to_json(l));
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(b->preset, "balanced");
  ASSERT_EQ(b->rules.size(), 2u);
  EXPECT_EQ(b->rules[1].id, 8);
  EXPECT_EQ(b->rules[1].scope, "pol");
  EXPECT_EQ(b->rules[1].action, "deny");
  EXPECT_EQ(b->rules[1].resource, "*.bad.net:443");
  EXPECT_EQ(b->builtin, l.builtin);
  expect_refused(parse_policy_listing(R"({"rules":[]})"), "preset");
  expect_refused(parse_policy_listing(R"({"preset":"x","rules":7})"), "rules");
  expect_refused(parse_policy_listing(R"({"preset":"x","rules":[{"id":"1"}]})"), "id");
  expect_refused(parse_policy_listing(R"({"preset":"x","builtin":[1]})"), "builtin");
  EXPECT_FALSE(parse_policy_listing("[]").ok());
}

TEST(PolicyMessages, RuleRequestAndAnswer) {
  auto r = parse_policy_rule_request(to_json(PolicyRuleRequest{"deny", "pol", "a.com,b.com"}));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->action, "deny");
  EXPECT_EQ(r->sandbox, "pol");
  EXPECT_EQ(r->resources, "a.com,b.com");
  expect_refused(parse_policy_rule_request(R"({"resources":"a.com"})"), "action");
  expect_refused(parse_policy_rule_request(R"({"action":"allow"})"), "resources");
  expect_refused(parse_policy_rule_request(R"({"action":1,"resources":"a"})"), "action");
  expect_refused(parse_policy_rule_request(R"({"action":"allow","resources":"a","sandbox":[]})"),
                 "sandbox");
  auto a = parse_policy_rule_added(to_json(PolicyRuleAdded{{3, 4}}));
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->ids, (std::vector<int64_t>{3, 4}));
  expect_refused(parse_policy_rule_added("{}"), "ids");
  expect_refused(parse_policy_rule_added(R"({"ids":["x"]})"), "ids");
}

TEST(PolicyMessages, RemoveByIdOrResource) {
  auto byid = parse_policy_remove_request(to_json(PolicyRemoveRequest{12, "", ""}));
  ASSERT_TRUE(byid.ok()) << byid.error().message;
  EXPECT_EQ(byid->id, 12);
  auto byres = parse_policy_remove_request(to_json(PolicyRemoveRequest{0, "a.com", "pol"}));
  ASSERT_TRUE(byres.ok()) << byres.error().message;
  EXPECT_EQ(byres->resource, "a.com");
  EXPECT_EQ(byres->sandbox, "pol");
  expect_refused(parse_policy_remove_request("{}"), "id");
  expect_refused(parse_policy_remove_request(R"({"id":1,"resource":"a"})"), "resource");
  expect_refused(parse_policy_remove_request(R"({"id":-1})"), "id");
  expect_refused(parse_policy_remove_request(R"({"id":"7"})"), "id");
  auto n = parse_policy_removed(to_json(PolicyRemoved{2}));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->removed, 2u);
  expect_refused(parse_policy_removed(R"({"removed":"2"})"), "removed");
}

TEST(PolicyMessages, InitCheckAndDecision) {
  auto i = parse_policy_init_request(to_json(PolicyInitRequest{"deny-all"}));
  ASSERT_TRUE(i.ok());
  EXPECT_EQ(i->preset, "deny-all");
  expect_refused(parse_policy_init_request("{}"), "preset");
  auto c = parse_policy_check_request(to_json(PolicyCheckRequest{"pol", "github.com:22"}));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->sandbox, "pol");
  EXPECT_EQ(c->target, "github.com:22");
  expect_refused(parse_policy_check_request(R"({"sandbox":"pol"})"), "target");
  auto d = parse_policy_decision(to_json(PolicyDecision{true, "allow github.com", 5}));
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->allowed);
  EXPECT_EQ(d->rule, "allow github.com");
  EXPECT_EQ(d->rule_id, 5);
  expect_refused(parse_policy_decision(R"({"rule":"x"})"), "allowed");
  expect_refused(parse_policy_decision(R"({"allowed":"yes"})"), "allowed");
  EXPECT_FALSE(parse_policy_check_request("not json").ok());
}

TEST(PolicyMessages, NetworkLogRoundTrip) {
  NetworkLogEntry e;
  e.id = 3;
  e.time_ms = 1700000000123;
  e.sandbox = "pol";
  e.host = "example.org";
  e.port = 443;
  e.kind = "forward";
  e.method = "CONNECT";
  e.path = "/\xff";  // from the guest: any bytes
  e.rule = "allow example.org";
  e.allowed = true;
  e.bytes_up = 10;
  e.bytes_down = 20;
  e.finished = true;
  auto one = parse_network_log_entry(to_json(e));
  ASSERT_TRUE(one.ok()) << one.error().message;
  EXPECT_EQ(one->time_ms, e.time_ms);
  EXPECT_TRUE(one->allowed);
  EXPECT_EQ(one->path, "/\xEF\xBF\xBD");
  EXPECT_EQ(one->bytes_down, 20u);
  auto log = parse_network_log(to_json(std::vector<NetworkLogEntry>{e, e}));
  ASSERT_TRUE(log.ok()) << log.error().message;
  EXPECT_EQ(log->size(), 2u);
  EXPECT_EQ((*log)[1].port, 443);
  expect_refused(parse_network_log_entry(R"({"host":"a"})"), "verdict");
  expect_refused(parse_network_log_entry(R"({"verdict":"maybe"})"), "verdict");
  expect_refused(parse_network_log(R"([{"verdict":"deny","port":"x"}])"), "port");
  EXPECT_FALSE(parse_network_log("{}").ok());
  auto reset = parse_reset_result(to_json(ResetResult{{"a", "b"}}));
  ASSERT_TRUE(reset.ok());
  EXPECT_EQ(reset->removed, (std::vector<std::string>{"a", "b"}));
  expect_refused(parse_reset_result("{}"), "removed");
}

}  // namespace
}  // namespace sbx::proto
