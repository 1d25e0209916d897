// The stall model of hlsload's players, driven by a manual clock (seconds).
#include <gtest/gtest.h>

#include "hlsload/playback.hpp"

namespace hlsload {
namespace {

TEST(HlsloadPlayback, StartsAfterTheStartBufferAndNeverStallsWhenSegmentsComeInTime) {
  PlaybackModel p(2);
  EXPECT_FALSE(p.on_segment(0.1, 2.0));
  EXPECT_FALSE(p.playing());
  EXPECT_FALSE(p.on_segment(0.3, 2.0));
  ASSERT_TRUE(p.playing());
  EXPECT_DOUBLE_EQ(*p.started_at(), 0.3);
  EXPECT_DOUBLE_EQ(p.buffered(0.3), 4.0);
  // A new 2 s segment every 2 s, each 1 s ahead of the buffer running dry.
  for (int i = 1; i <= 10; ++i) EXPECT_FALSE(p.on_segment(0.3 + 2.0 * i, 2.0)) << i;
  EXPECT_NEAR(p.buffered(20.3), 4.0, 1e-9);
  EXPECT_FALSE(p.finish(21.0));
  EXPECT_EQ(p.stalls(), 0);
  EXPECT_DOUBLE_EQ(p.stall_seconds(), 0);
}

TEST(HlsloadPlayback, ASegmentLaterThanTheBufferedMediaIsAStall) {
  PlaybackModel p(1);
  p.on_segment(1.0, 2.0);  // plays 1.0 .. 3.0
  EXPECT_NEAR(p.buffered(2.5), 0.5, 1e-9);
  EXPECT_DOUBLE_EQ(p.buffered(3.5), 0.0);
  auto stall = p.on_segment(3.75, 2.0);  // dry since 3.0
  ASSERT_TRUE(stall);
  EXPECT_NEAR(*stall, 0.75, 1e-9);
  // Playback resumed at the arrival: this segment plays 3.75 .. 5.75.
  EXPECT_FALSE(p.on_segment(5.75, 2.0));  // exactly in time is not a stall
  auto second = p.on_segment(8.0, 2.0);   // dry since 7.75
  ASSERT_TRUE(second);
  EXPECT_NEAR(*second, 0.25, 1e-9);
  EXPECT_EQ(p.stalls(), 2);
  EXPECT_NEAR(p.stall_seconds(), 1.0, 1e-9);
}

TEST(HlsloadPlayback, AStallInProgressAtTheEndCounts) {
  PlaybackModel p(1);
  p.on_segment(0.0, 2.0);
  p.on_segment(1.0, 2.0);  // buffered until 4.0
  auto stall = p.finish(5.5);
  ASSERT_TRUE(stall);
  EXPECT_NEAR(*stall, 1.5, 1e-9);
  EXPECT_EQ(p.stalls(), 1);
}

TEST(HlsloadPlayback, StartupIsNotAStall) {
  PlaybackModel p(3);
  p.on_segment(0.0, 2.0);
  p.on_segment(5.0, 2.0);  // slow, but playback has not started
  EXPECT_FALSE(p.finish(30.0));
  EXPECT_FALSE(p.playing());
  EXPECT_EQ(p.stalls(), 0);
  EXPECT_DOUBLE_EQ(p.buffered(30.0), 4.0);
}

TEST(HlsloadPlayback, StartBufferBelowOneMeansOne) {
  PlaybackModel p(0);
  p.on_segment(0.0, 1.0);
  EXPECT_TRUE(p.playing());
}

}  // namespace
}  // namespace hlsload
