// The pure parts the benchmarks' numbers rest on: statistics, option
// parsing, and the check of curl's per-transfer report.
#include "bench_util.h"

#include <gtest/gtest.h>
#include <stdlib.h>

namespace sbx::bench {
namespace {

TEST(Quantile, InterpolatesBetweenRanks) {
  EXPECT_DOUBLE_EQ(quantile({3, 1, 2}, 0.5), 2);
  EXPECT_DOUBLE_EQ(quantile({1, 2, 3, 4}, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(quantile({10, 0}, 0.1), 1);
  EXPECT_DOUBLE_EQ(quantile({5}, 0.95), 5);
  EXPECT_DOUBLE_EQ(quantile({}, 0.5), 0);
}

TEST(Summarize, MedianAndSpread) {
  auto s = summarize({9, 1, 5, 3, 7});
  EXPECT_EQ(s.n, 5u);
  EXPECT_DOUBLE_EQ(s.median, 5);
  EXPECT_DOUBLE_EQ(s.min, 1);
  EXPECT_DOUBLE_EQ(s.max, 9);
  EXPECT_DOUBLE_EQ(s.p10, 1.8);
  EXPECT_DOUBLE_EQ(s.p90, 8.2);
  EXPECT_EQ(median_range(s, 1), "5.0 [1.0-9.0]");
}

TEST(HttpRunTest, ThroughputAndLatency) {
  auto r = http_run(0.5, 64ULL << 20, {1, 2, 3, 4, 100});
  EXPECT_DOUBLE_EQ(r.mbps, 128);
  EXPECT_DOUBLE_EQ(r.p50_ms, 3);
  EXPECT_DOUBLE_EQ(r.p95_ms, 80.8);
}

TEST(ParseOptions, RunsFromFlagThenEnvThenDefault) {
  unsetenv("SBX_BENCH_RUNS");
  char prog[] = "bench", flag[] = "--runs", three[] = "3", eq[] = "--runs=7", bad[] = "--x",
       zero[] = "0";
  char* none[] = {prog};
  EXPECT_EQ(parse_options(1, none, "w")->runs, 5);
  char* a[] = {prog, flag, three};
  EXPECT_EQ(parse_options(3, a, "w")->runs, 3);
  char* b[] = {prog, eq};
  EXPECT_EQ(parse_options(2, b, "w")->runs, 7);
  setenv("SBX_BENCH_RUNS", "2", 1);
  EXPECT_EQ(parse_options(1, none, "w")->runs, 2);
  EXPECT_EQ(parse_options(3, a, "w")->runs, 3);
  unsetenv("SBX_BENCH_RUNS");
  char* c[] = {prog, bad};
  EXPECT_FALSE(parse_options(2, c, "w").ok());
  char* d[] = {prog, flag, zero};
  EXPECT_FALSE(parse_options(3, d, "w").ok());
}

TEST(CurlReport, EveryTransferMustBe200WithTheExpectedSize) {
  std::vector<testing::CurlGet> gets = {{"http://x/big", 1000}, {"http://x/small", 3}};
  auto ok = testing::parse_curl_report("200 1000 0.5\n200 3 0.001\n", gets);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(*ok, (std::vector<double>{0.5, 0.001}));
  // A refusal by the proxy is not a fast result.
  auto denied = testing::parse_curl_report("403 120 0.01\n200 3 0.001\n", gets);
  ASSERT_FALSE(denied.ok());
  EXPECT_NE(denied.error().message.find("403"), std::string::npos);
  // A short body is not a fast download.
  auto short_body = testing::parse_curl_report("200 999 0.01\n200 3 0.001\n", gets);
  ASSERT_FALSE(short_body.ok());
  EXPECT_NE(short_body.error().message.find("999"), std::string::npos);
  // A missing transfer is not a smaller sample.
  EXPECT_FALSE(testing::parse_curl_report("200 1000 0.5\n", gets).ok());
  EXPECT_FALSE(testing::parse_curl_report("200 1000 zz\n200 3 0.001\n", gets).ok());
}

}  // namespace
}  // namespace sbx::bench
