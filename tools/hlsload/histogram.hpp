// LatencyHistogram: durations in microseconds counted in log-linear buckets (HdrHistogram's
// layout: 32 linear sub-buckets per power of two, so a reported percentile is within
// 1/32 ≈ 3% above the true value), plus the exact min, max and sum. Fixed size, no
// allocation per sample, mergeable — one per thread, merged for the progress line.
#pragma once

#include <array>
#include <cstdint>

namespace hlsload {

class LatencyHistogram {
 public:
  static constexpr int kSubBits = 5;                      // 32 sub-buckets per power of two
  static constexpr int kSub = 1 << kSubBits;
  static constexpr int kBuckets = (64 - kSubBits) * kSub + kSub;

  void record(std::uint64_t micros);
  void merge(const LatencyHistogram& other);
  void clear() { *this = LatencyHistogram{}; }

  std::uint64_t count() const { return count_; }
  std::uint64_t max() const { return max_; }
  std::uint64_t min() const { return count_ ? min_ : 0; }
  double mean() const { return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0; }
  // The smallest bucket upper bound at or below which `p` percent (0..100] of samples lie,
  // clamped to [min, max]; 0 when empty.
  std::uint64_t percentile(double p) const;

  // Bucket arithmetic, public for the tests.
  static int bucket_of(std::uint64_t v);
  static std::uint64_t bucket_upper(int bucket);  // largest value in the bucket

 private:
  std::array<std::uint64_t, kBuckets> counts_{};
  std::uint64_t count_ = 0, sum_ = 0, max_ = 0, min_ = UINT64_MAX;
};

}  // namespace hlsload
