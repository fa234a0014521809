#include "daemon/create_request.h"

#include <gtest/gtest.h>

#include "base/files.h"

namespace sbx::daemon {
namespace {

TEST(Defaults, MemoryIsHalfOfHostClamped) {
  EXPECT_EQ(default_memory({16ull << 30, 4}), 8ull << 30);
  EXPECT_EQ(default_memory({512ull << 20, 1}), 512ull << 20);
  EXPECT_EQ(default_memory({256ull << 30, 64}), 32ull << 30);
  EXPECT_EQ(max_memory({16ull << 30, 4}), 12ull << 30);
  EXPECT_EQ(max_memory({256ull << 20, 1}), 512ull << 20);
}

class CreateRequestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::create("sbx-creq");
    ASSERT_TRUE(d.ok());
    dir_.emplace(std::move(*d));
  }
  proto::CreateRequest request() const {
    proto::CreateRequest r;
    r.workspace = dir_->path();
    r.name = "box";
    return r;
  }
  Result<proto::CreateRequest> check(const proto::CreateRequest& r) const {
    return validate_create_request(r, host_, 10ull << 30);
  }
  static std::string message(const Result<proto::CreateRequest>& r) {
    return r.ok() ? "" : r.error().message;
  }
  HostFacts host_{16ull << 30, 4};
  std::optional<TempDir> dir_;
};

TEST_F(CreateRequestTest, FillsDefaults) {
  auto in = request();
  in.name.clear();
  auto r = check(in);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->agent, "shell");
  EXPECT_FALSE(r->name.empty());
  EXPECT_EQ(r->memory_bytes, 8ull << 30);
  EXPECT_EQ(r->cpus, 4);
  EXPECT_EQ(r->docker_bytes, 10ull << 30);
}

TEST_F(CreateRequestTest, KeepsWhatWasAskedFor) {
  auto in = request();
  in.memory_bytes = 1ull << 30;
  in.cpus = 2;
  in.docker_bytes = 2ull << 30;
  auto r = check(in);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->name, "box");
  EXPECT_EQ(r->memory_bytes, 1ull << 30);
  EXPECT_EQ(r->cpus, 2);
  EXPECT_EQ(r->docker_bytes, 2ull << 30);
}

TEST_F(CreateRequestTest, RejectsBadAgentAndWorkspace) {
  auto in = request();
  in.agent = "clippy";
  EXPECT_NE(message(check(in)).find("unknown agent 'clippy'"), std::string::npos);
  in = request();
  in.workspace = "relative/path";
  EXPECT_NE(message(check(in)).find("must be absolute"), std::string::npos);
  in.workspace = dir_->path() + "/missing";
  EXPECT_NE(message(check(in)).find("does not exist"), std::string::npos);
  ASSERT_TRUE(write_file_atomic(dir_->path() + "/file", "x").ok());
  in.workspace = dir_->path() + "/file";
  auto r = check(in);
  EXPECT_NE(message(r).find("is not a directory"), std::string::npos);
  EXPECT_EQ(r.error().code, kBadRequest);
}

TEST_F(CreateRequestTest, RejectsBadNameAndSizes) {
  auto in = request();
  in.name = "Bad Name";
  EXPECT_EQ(check(in).error().code, kBadRequest);
  in = request();
  in.memory_bytes = 1 << 20;
  EXPECT_NE(message(check(in)).find("too small"), std::string::npos);
  in.memory_bytes = 13ull << 30;
  EXPECT_NE(message(check(in)).find("exceeds the maximum"), std::string::npos);
  in = request();
  in.cpus = 5;
  EXPECT_NE(message(check(in)).find("out of range"), std::string::npos);
  in = request();
  in.docker_bytes = 512ull << 20;
  EXPECT_NE(message(check(in)).find("--docker-size"), std::string::npos);
}

TEST_F(CreateRequestTest, PortsNeedASandboxPort) {
  auto in = request();
  proto::PortMapping p;
  p.host_port = 8080;
  in.ports.push_back(p);
  auto r = check(in);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, kBadRequest);
  EXPECT_NE(r.error().message.find("needs a sandbox port"), std::string::npos);
}

}  // namespace
}  // namespace sbx::daemon
