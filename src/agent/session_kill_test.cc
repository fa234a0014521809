#include "agent/session_kill.h"

#include <gtest/gtest.h>

namespace sbx::agent {
namespace {

TEST(SessionKill, ParsesSessionFromStat) {
  EXPECT_EQ(session_from_stat("1234 (bash) S 1 1234 1200 34816 1234 4194304 ..."), 1200);
  EXPECT_EQ(session_from_stat("77 (a) b) c) R 1 77 77 0 -1 0"), 77);
  EXPECT_EQ(session_from_stat("garbage"), -1);
  EXPECT_EQ(session_from_stat("1 (x) S 1"), -1);
}

}  // namespace
}  // namespace sbx::agent
