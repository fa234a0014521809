#include "vm/tsc.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace sbx::vm {
namespace {

TEST(Tsc, TwoMeasurementsAgreeWithinOnePercent) {
  auto a = measure_tsc_khz();
  auto b = measure_tsc_khz();
  ASSERT_TRUE(a.ok()) << a.error().message;
  ASSERT_TRUE(b.ok()) << b.error().message;
  double diff = std::abs(static_cast<double>(*a) - static_cast<double>(*b));
  EXPECT_LT(diff / static_cast<double>(*a), 0.01) << *a << " vs " << *b;
}

TEST(Tsc, HostFigureIsPlausibleAndMatchesMeasurement) {
  auto h = host_tsc_khz();
  ASSERT_TRUE(h.ok()) << h.error().message;
  EXPECT_GE(*h, 100'000u);
  EXPECT_LE(*h, 10'000'000u);
  auto m = measure_tsc_khz();
  ASSERT_TRUE(m.ok());
  double diff = std::abs(static_cast<double>(*h) - static_cast<double>(*m));
  EXPECT_LT(diff / static_cast<double>(*h), 0.01);
}

TEST(Tsc, RangeCheck) {
  EXPECT_FALSE(check_tsc_khz(99'999).ok());
  EXPECT_FALSE(check_tsc_khz(10'000'001).ok());
  EXPECT_TRUE(check_tsc_khz(2'596'132).ok());
  EXPECT_FALSE(measure_tsc_khz(0).ok());
}

}  // namespace
}  // namespace sbx::vm
