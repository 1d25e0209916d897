// The latency histogram behind hlsload's p50/p90/p99: exact for small values, within
// its 1/32 bucket width above, nearest-rank percentiles, merge.
#include <gtest/gtest.h>

#include <random>

#include "hlsload/histogram.hpp"

namespace hlsload {
namespace {

TEST(HlsloadHistogram, BucketsCoverEveryValueAndBoundItWithinOneThirtySecond) {
  for (std::uint64_t v : {0ull, 1ull, 31ull, 32ull, 33ull, 63ull, 64ull, 1000ull, 123456789ull, ~0ull}) {
    const int b = LatencyHistogram::bucket_of(v);
    ASSERT_GE(b, 0);
    ASSERT_LT(b, LatencyHistogram::kBuckets);
    const std::uint64_t up = LatencyHistogram::bucket_upper(b);
    EXPECT_GE(up, v) << v;
    EXPECT_LE(static_cast<double>(up - v), static_cast<double>(v) / 32.0) << v;
    if (b > 0) EXPECT_LT(LatencyHistogram::bucket_upper(b - 1), v) << v;  // buckets are contiguous
  }
}

TEST(HlsloadHistogram, PercentilesOfSmallValuesAreExact) {
  LatencyHistogram h;
  for (std::uint64_t v = 1; v <= 10; ++v) h.record(v);
  EXPECT_EQ(h.count(), 10u);
  EXPECT_EQ(h.percentile(50), 5u);   // nearest rank: ceil(0.5 * 10) = 5th
  EXPECT_EQ(h.percentile(90), 9u);
  EXPECT_EQ(h.percentile(99), 10u);
  EXPECT_EQ(h.percentile(100), 10u);
  EXPECT_EQ(h.min(), 1u);
  EXPECT_EQ(h.max(), 10u);
  EXPECT_DOUBLE_EQ(h.mean(), 5.5);
}

TEST(HlsloadHistogram, PercentilesOfAUniformSpreadAreWithinTheBucketWidth) {
  LatencyHistogram h;
  std::vector<std::uint64_t> values;
  std::mt19937_64 rng(7);
  for (int i = 0; i < 100000; ++i) values.push_back(1000 + rng() % 99000);  // 1 ms .. 100 ms
  for (auto v : values) h.record(v);
  std::sort(values.begin(), values.end());
  for (double p : {50.0, 90.0, 99.0, 99.9}) {
    const auto exact = values[static_cast<std::size_t>(std::ceil(p / 100 * values.size())) - 1];
    const auto got = h.percentile(p);
    EXPECT_GE(got, exact) << "p" << p;
    EXPECT_LE(static_cast<double>(got), static_cast<double>(exact) * (1 + 1.0 / 32)) << "p" << p;
  }
  EXPECT_EQ(h.max(), values.back());
  EXPECT_EQ(h.percentile(100), values.back());
}

TEST(HlsloadHistogram, OneOutlierShowsInMaxAndP99Only) {
  LatencyHistogram h;
  for (int i = 0; i < 999; ++i) h.record(2000);
  h.record(5'000'000);
  // 2000 lies in the bucket [1984, 2047]: reported as its upper bound.
  EXPECT_EQ(h.percentile(50), LatencyHistogram::bucket_upper(LatencyHistogram::bucket_of(2000)));
  EXPECT_LE(h.percentile(99), 2000u + 2000u / 32);
  EXPECT_GE(h.percentile(99.95), 5'000'000u);
  EXPECT_EQ(h.max(), 5'000'000u);
}

TEST(HlsloadHistogram, MergeEqualsRecordingEverythingInOne) {
  LatencyHistogram a, b, all;
  for (std::uint64_t v = 0; v < 5000; v += 7) (v % 2 ? a : b).record(v), all.record(v);
  a.merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.max(), all.max());
  EXPECT_EQ(a.min(), all.min());
  for (double p : {1.0, 50.0, 90.0, 99.0}) EXPECT_EQ(a.percentile(p), all.percentile(p));
}

TEST(HlsloadHistogram, EmptyIsAllZero) {
  LatencyHistogram h;
  EXPECT_EQ(h.percentile(99), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.mean(), 0.0);
}

}  // namespace
}  // namespace hlsload
