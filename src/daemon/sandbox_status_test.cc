#include "daemon/sandbox_status.h"

#include <gtest/gtest.h>

namespace sbx::daemon {
namespace {

TEST(SandboxStatus, NamesRoundTrip) {
  for (auto s : {SandboxStatus::kStopped, SandboxStatus::kStarting, SandboxStatus::kRunning,
                 SandboxStatus::kStopping, SandboxStatus::kFailed})
    EXPECT_EQ(parse_status(status_name(s)), s) << status_name(s);
  EXPECT_EQ(status_name(SandboxStatus::kRunning), "running");
  EXPECT_EQ(status_name(SandboxStatus::kFailed), "failed");
}

TEST(SandboxStatus, UnknownNamesAreStopped) {
  EXPECT_EQ(parse_status("created"), SandboxStatus::kStopped);
  EXPECT_EQ(parse_status(""), SandboxStatus::kStopped);
}

TEST(SandboxStatus, ActiveStatesMayHaveAVm) {
  EXPECT_TRUE(is_active(SandboxStatus::kRunning));
  EXPECT_TRUE(is_active(SandboxStatus::kStarting));
  EXPECT_TRUE(is_active(SandboxStatus::kStopping));
  EXPECT_FALSE(is_active(SandboxStatus::kStopped));
  EXPECT_FALSE(is_active(SandboxStatus::kFailed));
}

}  // namespace
}  // namespace sbx::daemon
