#include "daemon/sandbox_manager.h"

#include <gtest/gtest.h>

#include "base/files.h"

namespace sbx::daemon {
namespace {

// The defaults (create_request_test.cc) and the kernel command line
// (vm_launcher_test.cc) are tested beside their code now.

class ManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::create("sbx-mgr");
    ASSERT_TRUE(d.ok());
    dir_.emplace(std::move(*d));
    DaemonConfig cfg;
    cfg.paths.runtime = dir_->path() + "/run";
    cfg.paths.state = dir_->path() + "/state";
    cfg.paths.cache = dir_->path() + "/cache";
    cfg.paths.config = dir_->path() + "/config";
    ASSERT_TRUE(cfg.paths.ensure().ok());
    auto st = Store::open(cfg.paths.database());
    ASSERT_TRUE(st.ok());
    mgr_ = std::make_unique<SandboxManager>(cfg, std::move(*st), log_);
  }
  std::optional<TempDir> dir_;
  Logger log_{stderr, LogLevel::kError};
  std::unique_ptr<SandboxManager> mgr_;
};

// Validation happens before any artifact is built, so these need no VM.
TEST_F(ManagerTest, RejectsMissingWorkspace) {
  proto::CreateRequest r;
  r.workspace = "/nonexistent/sbx/ws";
  auto s = mgr_->create(r);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, kBadRequest);
  EXPECT_NE(s.error().message.find("does not exist"), std::string::npos);
}

TEST_F(ManagerTest, RejectsUnknownAgent) {
  proto::CreateRequest r;
  r.agent = "clippy";
  r.workspace = dir_->path();
  auto s = mgr_->create(r);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("unknown agent 'clippy'"), std::string::npos);
}

TEST_F(ManagerTest, RejectsBadNameAndSizes) {
  proto::CreateRequest r;
  r.workspace = dir_->path();
  r.name = "Bad Name";
  EXPECT_EQ(mgr_->create(r).error().code, kBadRequest);
  r.name = "ok";
  r.memory_bytes = 1 << 20;
  auto s = mgr_->create(r);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("too small"), std::string::npos);
  r.memory_bytes = 0;
  r.cpus = 100000;
  EXPECT_EQ(mgr_->create(r).error().code, kBadRequest);
}

TEST_F(ManagerTest, UnknownSandboxIsNotFound) {
  for (auto r : {mgr_->get("nope").ok() ? Error{} : mgr_->get("nope").error(),
                 mgr_->stop("nope").error(), mgr_->start("nope").error(),
                 mgr_->remove("nope", true).error()}) {
    EXPECT_EQ(r.code, kNotFound);
    EXPECT_NE(r.message.find("'nope' not found"), std::string::npos);
  }
  auto l = mgr_->list();
  ASSERT_TRUE(l.ok());
  EXPECT_TRUE(l->empty());
}

}  // namespace
}  // namespace sbx::daemon
