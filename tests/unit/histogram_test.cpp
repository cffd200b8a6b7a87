#include "netcall/histogram.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

using netcall::latency_histogram;

TEST(latency_histogram, empty_reports_zeros) {
  latency_histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.percentile(50), 0.0);
  EXPECT_EQ(h.max(), 0u);
}

TEST(latency_histogram, small_values_are_exact) {
  latency_histogram h;
  for (std::uint64_t v = 1; v <= 100; ++v) h.record(v);
  EXPECT_EQ(h.percentile(50), 50.0);
  EXPECT_EQ(h.percentile(100), 100.0);
  EXPECT_EQ(h.min(), 1u);
  EXPECT_DOUBLE_EQ(h.mean(), 50.5);
}

TEST(latency_histogram, percentiles_are_within_one_percent_of_the_truth) {
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> dist(11.0, 1.5);  // ~60 us median, long tail
  std::vector<std::uint64_t> values;
  latency_histogram h;
  for (int i = 0; i < 200'000; ++i) {
    const auto v = static_cast<std::uint64_t>(dist(rng)) + 1;
    values.push_back(v);
    h.record(v);
  }
  std::sort(values.begin(), values.end());
  for (double p : {1.0, 10.0, 50.0, 90.0, 99.0, 99.9, 99.99}) {
    const auto truth = static_cast<double>(
        values[static_cast<std::size_t>(p / 100.0 * static_cast<double>(values.size()) + 0.5) - 1]);
    EXPECT_NEAR(h.percentile(p), truth, truth * 0.01) << "p" << p;
  }
  EXPECT_EQ(h.max(), values.back());
  EXPECT_EQ(h.percentile(100), static_cast<double>(values.back()));
}

TEST(latency_histogram, merge_adds_counts) {
  latency_histogram a, b;
  for (int i = 0; i < 10; ++i) a.record(1000);
  for (int i = 0; i < 30; ++i) b.record(5'000'000);
  a.merge(b);
  EXPECT_EQ(a.count(), 40u);
  EXPECT_NEAR(a.percentile(50), 5'000'000, 50'000);
  EXPECT_NEAR(a.percentile(20), 1000, 10);
  EXPECT_EQ(a.max(), 5'000'000u);
}

TEST(latency_histogram, huge_values_do_not_overflow_the_index) {
  latency_histogram h;
  h.record(std::numeric_limits<std::uint64_t>::max());
  h.record(1ull << 40);
  EXPECT_EQ(h.count(), 2u);
  EXPECT_EQ(h.max(), std::numeric_limits<std::uint64_t>::max());
}
