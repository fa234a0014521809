#include "proto/network_summary.h"

#include <gtest/gtest.h>

namespace sbx::proto {
namespace {

NetworkLogEntry entry(std::string host, int64_t t, bool allowed, std::string sandbox = "a",
                      uint64_t up = 0, uint64_t down = 0) {
  NetworkLogEntry e;
  e.host = std::move(host);
  e.time_ms = t;
  e.allowed = allowed;
  e.sandbox = std::move(sandbox);
  e.bytes_up = up;
  e.bytes_down = down;
  return e;
}

TEST(NetworkSummary, GroupsByHostNewestFirstWithCountsAndBytes) {
  auto s = summarize_by_host({entry("x.test", 10, true, "a", 5, 7), entry("y.test", 30, false, "b"),
                              entry("x.test", 20, false, "c", 1, 0)});
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].host, "y.test");
  EXPECT_EQ(s[0].count, 1);
  EXPECT_EQ(verdict_of(s[0]), "blocked");
  EXPECT_EQ(s[1].host, "x.test");
  EXPECT_EQ(s[1].count, 2);
  EXPECT_EQ(s[1].allowed, 1);
  EXPECT_EQ(s[1].blocked, 1);
  EXPECT_EQ(s[1].bytes, 13u);
  EXPECT_EQ(s[1].last_seen_ms, 20);
  EXPECT_EQ(s[1].last_sandbox, "c");
  EXPECT_EQ(verdict_of(s[1]), "mixed");
}

TEST(NetworkSummary, AllAllowedIsAllowedAndEmptyLogIsEmpty) {
  auto s = summarize_by_host({entry("x.test", 1, true), entry("x.test", 2, true)});
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(verdict_of(s[0]), "allowed");
  EXPECT_TRUE(summarize_by_host({}).empty());
}

}  // namespace
}  // namespace sbx::proto
