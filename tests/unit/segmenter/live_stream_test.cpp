// A live rendition's numbering across its publishing sessions (segmenter/live_stream.hpp):
// a new window starts at or above sequence_floor — the wall clock in half target
// durations — so no later run, in this process or after a restart, reuses a media
// sequence number or a segment URI, and its discontinuity sequence starts there too;
// a publisher that comes back within the pause grace continues the same window.
#include <gtest/gtest.h>

#include "segmenter/live_stream.hpp"

namespace hlscache {
namespace {

using namespace std::chrono_literals;

TEST(SequenceFloor, CountsTheClockInHalfTargetDurations) {
  const WallTime t{std::chrono::milliseconds(1'796'601'600'000)};
  EXPECT_EQ(sequence_floor(2000ms, t), 1'796'601'600'000u / 1000);
  EXPECT_EQ(sequence_floor(2000ms, t + 1000ms), sequence_floor(2000ms, t) + 1);
  EXPECT_EQ(sequence_floor(2000ms, t + 2000ms), sequence_floor(2000ms, t) + 2) << "two numbers per target duration";
  EXPECT_EQ(sequence_floor(1ms, t), 1'796'601'600'000u) << "never divides by zero";
  EXPECT_EQ(sequence_floor(2000ms, WallTime{}), 0u);
}

StreamConfig stream(const char* name) {
  StreamConfig sc;
  sc.name = name;
  sc.target_duration = 2s;
  RenditionConfig rc;
  rc.name = "main";
  rc.ingest = true;
  sc.renditions.push_back(rc);
  return sc;
}

TEST(LiveRenditionNumbering, ANewSessionStartsAtTheClockFloorAndNeverGoesBack) {
  LiveStreams streams({stream("n")});
  LiveRendition& r = *streams.find("n")->renditions().front();
  const std::uint64_t before = sequence_floor(2000ms, std::chrono::system_clock::now());
  auto first = PublishSession::begin(r);
  ASSERT_TRUE(first);
  const auto w1 = r.current_window();
  ASSERT_TRUE(w1 && w1->playlist());
  const std::uint64_t start1 = w1->playlist()->next_sequence;
  EXPECT_GE(start1, before);
  EXPECT_LE(start1, sequence_floor(2000ms, std::chrono::system_clock::now()));
  first->end();

  // Another process would compute the same floor from the clock; this one also remembers.
  auto second = PublishSession::begin(r);
  ASSERT_TRUE(second);
  const auto w2 = r.current_window();
  ASSERT_TRUE(w2 && w2->playlist());
  EXPECT_NE(w2, w1) << "a session after an ended one gets a new window";
  EXPECT_GE(w2->playlist()->next_sequence, start1);
  second->end();
}

}  // namespace
}  // namespace hlscache
