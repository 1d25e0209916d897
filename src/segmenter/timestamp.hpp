// 33-bit MPEG-TS timestamps (PTS/DTS, 90 kHz) and the wrap-aware arithmetic
// every duration in the segmenter goes through. The counter wraps every
// 2^33 ticks (~26.5 h), so a difference is taken modulo 2^33 and read as a
// signed value in (-2^32, 2^32]: the shorter way round the circle wins.
#pragma once

#include <cstdint>

namespace hlscache::ts {

inline constexpr std::uint64_t kTimestampModulus = std::uint64_t{1} << 33;
inline constexpr std::uint64_t kTimestampMask = kTimestampModulus - 1;
inline constexpr std::int64_t kTicksPerSecond = 90'000;

// Signed ticks from `from` to `to` on the 33-bit circle.
constexpr std::int64_t timestamp_delta(std::uint64_t from, std::uint64_t to) noexcept {
  auto d = static_cast<std::int64_t>((to - from) & kTimestampMask);
  if (d > (std::int64_t{1} << 32)) d -= static_cast<std::int64_t>(kTimestampModulus);
  return d;
}

// `ts` moved by `ticks` (either sign), wrapped into 33 bits.
constexpr std::uint64_t timestamp_add(std::uint64_t ts, std::int64_t ticks) noexcept {
  return (ts + static_cast<std::uint64_t>(ticks)) & kTimestampMask;
}

constexpr double ticks_to_seconds(std::int64_t ticks) noexcept {
  return static_cast<double>(ticks) / static_cast<double>(kTicksPerSecond);
}

constexpr std::int64_t millis_to_ticks(std::int64_t ms) noexcept { return ms * (kTicksPerSecond / 1000); }

}  // namespace hlscache::ts
