#include "proto/api.h"

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
