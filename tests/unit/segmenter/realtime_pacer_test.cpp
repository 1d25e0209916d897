// RealtimePacer: due times from the PCR (27 MHz) against the steady clock, the PCR
// wrap, catching up within the tolerance, re-basing (no burst) past it, and a jump
// in the file's clock. Time is passed in: no sleeping, no wall-clock speed measured.
#include <gtest/gtest.h>

#include "segmenter/realtime_pacer.hpp"

using namespace hlscache;
using namespace std::chrono_literals;

namespace {

const TimePoint kT0 = TimePoint{} + std::chrono::hours(1);
constexpr std::uint64_t kSecond = 27'000'000;  // PCR ticks
constexpr std::uint64_t kPcr0 = 63'000 * 300;

}  // namespace

TEST(RealtimePacer, APcrIsDueItsDistanceFromTheFirstAfterTheStart) {
  RealtimePacer p(1s);
  EXPECT_EQ(p.schedule(kPcr0, kT0).due, kT0);
  // Asked early (the caller sleeps until due): 40 ms, then 1 s, then 10.0267 s of media.
  EXPECT_EQ(p.schedule(kPcr0 + kSecond / 25, kT0).due, kT0 + 40ms);
  EXPECT_EQ(p.schedule(kPcr0 + kSecond, kT0 + 40ms).due, kT0 + 1s);
  for (std::uint64_t k = 2; k <= 10; ++k) p.schedule(kPcr0 + k * kSecond, kT0 + 1s);
  const auto s = p.schedule(kPcr0 + 902'400 * 300, kT0 + 1s);
  EXPECT_EQ(s.due, kT0 + std::chrono::nanoseconds(10'026'666'666));
  EXPECT_FALSE(s.skipped);
  EXPECT_EQ(p.media_ticks(), 902'400u * 300);
  EXPECT_EQ(p.skips(), 0u);
}

TEST(RealtimePacer, FollowsThePcrAcrossItsWrap) {
  RealtimePacer p(1s);
  const std::uint64_t before = RealtimePacer::kPcrWrap - kSecond / 2;
  p.schedule(before, kT0);
  EXPECT_EQ(p.schedule(kSecond / 2, kT0).due, kT0 + 1s);
  EXPECT_EQ(p.jumps(), 0u);
}

TEST(RealtimePacer, BehindByLessThanTheToleranceCatchesUp) {
  RealtimePacer p(1s);
  p.schedule(kPcr0, kT0);
  // 900 ms late: due in the past, fed at once; the schedule stays.
  const auto s = p.schedule(kPcr0 + 2 * kSecond, kT0 + 2900ms);
  EXPECT_FALSE(s.skipped);
  EXPECT_EQ(s.due, kT0 + 2s);
  EXPECT_EQ(p.schedule(kPcr0 + 3 * kSecond, kT0 + 2900ms).due, kT0 + 3s);
  EXPECT_EQ(p.skips(), 0u);
}

TEST(RealtimePacer, BehindByMoreThanTheToleranceResumesFromNow) {
  RealtimePacer p(1s);
  p.schedule(kPcr0, kT0);
  p.schedule(kPcr0 + 2 * kSecond, kT0 + 2s);
  // Stopped for 12 s (SIGSTOP): the next block is 12 s late.
  const TimePoint resumed = kT0 + 14s + 40ms;
  const auto s = p.schedule(kPcr0 + 2 * kSecond + kSecond / 25, resumed);
  EXPECT_TRUE(s.skipped);
  EXPECT_EQ(s.behind, 12s);
  EXPECT_EQ(s.due, resumed);
  // From there, real-time pace again: 1 s of media later is due 1 s later, not at once.
  EXPECT_EQ(p.schedule(kPcr0 + 3 * kSecond + kSecond / 25, resumed).due, resumed + 1s);
  EXPECT_EQ(p.skips(), 1u);
  EXPECT_EQ(p.skipped(), 12s);
  // Media time does not skip: the stream's timestamps go on where they were.
  EXPECT_EQ(p.media_ticks(), 3 * kSecond + kSecond / 25);
}

TEST(RealtimePacer, AJumpInTheFilesClockRestartsTheSchedule) {
  RealtimePacer p(1s);
  p.schedule(kPcr0, kT0);
  p.schedule(kPcr0 + kSecond, kT0 + 1s);
  auto s = p.schedule(kPcr0, kT0 + 1s);  // backwards
  EXPECT_TRUE(s.jumped);
  EXPECT_EQ(s.due, kT0 + 1s);
  EXPECT_EQ(p.schedule(kPcr0 + kSecond, kT0 + 1s).due, kT0 + 2s);
  s = p.schedule(kPcr0 + 20 * kSecond, kT0 + 2s);  // 19 s forward: longer than max_step
  EXPECT_TRUE(s.jumped);
  EXPECT_EQ(s.due, kT0 + 2s);
  EXPECT_EQ(p.jumps(), 2u);
  EXPECT_EQ(p.skips(), 0u);
}
