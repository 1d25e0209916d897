#include "hlsload/histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace hlsload {

// Values below kSub map to themselves; above, a value whose highest set bit is b (b >= kSubBits)
// lands in group b - kSubBits + 1, sub-bucket = its next kSubBits bits.
int LatencyHistogram::bucket_of(std::uint64_t v) {
  if (v < static_cast<std::uint64_t>(kSub)) return static_cast<int>(v);
  const int b = 63 - std::countl_zero(v);
  const int shift = b - kSubBits;
  const int sub = static_cast<int>((v >> shift) & (kSub - 1));
  return (shift + 1) * kSub + sub;
}

std::uint64_t LatencyHistogram::bucket_upper(int bucket) {
  if (bucket < kSub) return static_cast<std::uint64_t>(bucket);
  const int group = bucket / kSub;  // >= 1
  const int sub = bucket % kSub;
  const int shift = group - 1;
  const std::uint64_t low = (static_cast<std::uint64_t>(kSub + sub)) << shift;
  return low + ((std::uint64_t{1} << shift) - 1);
}

void LatencyHistogram::record(std::uint64_t micros) {
  ++counts_[static_cast<std::size_t>(bucket_of(micros))];
  ++count_;
  sum_ += micros;
  max_ = std::max(max_, micros);
  min_ = std::min(min_, micros);
}

void LatencyHistogram::merge(const LatencyHistogram& o) {
  for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += o.counts_[i];
  count_ += o.count_;
  sum_ += o.sum_;
  max_ = std::max(max_, o.max_);
  min_ = std::min(min_, o.min_);
}

std::uint64_t LatencyHistogram::percentile(double p) const {
  if (count_ == 0) return 0;
  p = std::clamp(p, 0.0, 100.0);
  // The rank of the sample at percentile p (nearest-rank method), 1-based.
  const auto rank = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_))));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::clamp(bucket_upper(static_cast<int>(i)), min(), max_);
  }
  return max_;
}

}  // namespace hlsload
