// The live edge (miss/live_edge.hpp): how a segment name is placed against the last
// one a playlist lists (whatever the naming: a counter anywhere in the name, a session
// id beside it), where a playlist's segment URIs resolve, which playlists place
// segments and for how long, its bounds, and the first-byte wait of a held request.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "miss/live_edge.hpp"

namespace hlscache {
namespace {

using namespace std::chrono_literals;

constexpr TimePoint kT0 = TimePoint{} + 1h;

// A live media playlist listing `count` segments named by `name(sequence)` from `first`.
template <class Name>
std::string playlist(std::uint64_t first, int count, Name name, int target = 6, bool ended = false) {
  std::string s = fmt::format("#EXTM3U\n#EXT-X-TARGETDURATION:{}\n#EXT-X-MEDIA-SEQUENCE:{}\n", target, first);
  for (int i = 0; i < count; ++i) s += fmt::format("#EXTINF:{}.000,\n{}\n", target, name(first + i));
  if (ended) s += "#EXT-X-ENDLIST\n";
  return s;
}
std::string seg(std::uint64_t n) { return fmt::format("seg_{}.ts", n); }
std::string session_seg(std::uint64_t n) { return fmt::format("seg_a1b2c3_{}.ts", n); }

TEST(SegmentsAfter, CountsByTheRunTheFirstAndLastNamesDifferIn) {
  EXPECT_EQ(segments_after("seg_12.ts", "seg_12.ts", "seg_10.ts", 3), 0);
  EXPECT_EQ(segments_after("seg_13.ts", "seg_12.ts", "seg_10.ts", 3), 1);
  EXPECT_EQ(segments_after("seg_100.ts", "seg_12.ts", "seg_10.ts", 3), 88);
  EXPECT_EQ(segments_after("seg_9.ts", "seg_12.ts", "seg_10.ts", 3), -3);
  // A session id with digits beside the counter: only the counter places.
  EXPECT_EQ(segments_after("seg_a1b2c3_58.ts", "seg_a1b2c3_57.ts", "seg_a1b2c3_52.ts", 6), 1);
  EXPECT_EQ(segments_after("seg_a1b2c4_57.ts", "seg_a1b2c3_57.ts", "seg_a1b2c3_52.ts", 6), std::nullopt);
  EXPECT_EQ(segments_after("seg_a1b2c4_58.ts", "seg_a1b2c3_57.ts", "seg_a1b2c3_52.ts", 6), std::nullopt);
  // The counter anywhere, zero-padded or not, any extension.
  EXPECT_EQ(segments_after("chunk_0100_720p.m4s", "chunk_0099_720p.m4s", "chunk_0097_720p.m4s", 3), 1);
  EXPECT_EQ(segments_after("media_w42_1001.ts", "media_w42_999.ts", "media_w42_998.ts", 2), 2);
}

TEST(SegmentsAfter, RefusesNamesThatDoNotCountSegments) {
  // Another name shape.
  EXPECT_EQ(segments_after("other_13.ts", "seg_12.ts", "seg_10.ts", 3), std::nullopt);
  EXPECT_EQ(segments_after("seg_13.mp4", "seg_12.ts", "seg_10.ts", 3), std::nullopt);
  EXPECT_EQ(segments_after("seg_x.ts", "seg_12.ts", "seg_10.ts", 3), std::nullopt);
  // Names that step by media time, not by segment: first and last are 2 x 6000 apart, not 2.
  EXPECT_EQ(segments_after("t_18000.ts", "t_12000.ts", "t_0.ts", 3), std::nullopt);
  // First and last differing in two runs.
  EXPECT_EQ(segments_after("a1_13.ts", "a1_12.ts", "a0_10.ts", 3), std::nullopt);
  // A run too long to be a counter.
  EXPECT_EQ(segments_after("s_1234567890123456789.ts", "s_1234567890123456788.ts", "s_1234567890123456786.ts", 3),
            std::nullopt);
}

TEST(SegmentsAfter, WithOneSegmentListedTheLastRunBeforeTheExtensionCounts) {
  EXPECT_EQ(segments_after("seg_13.ts", "seg_12.ts", "seg_12.ts", 1), 1);
  EXPECT_EQ(segments_after("seg_a1b2c3_13.ts", "seg_a1b2c3_12.ts", "seg_a1b2c3_12.ts", 1), 1);
  EXPECT_EQ(segments_after("seg_a1b2c4_12.ts", "seg_a1b2c3_12.ts", "seg_a1b2c3_12.ts", 1), std::nullopt);
  EXPECT_EQ(segments_after("seg_13.mp4", "seg_12.mp4", "seg_12.mp4", 1), 1);  // not the 4 of .mp4
}

TEST(SegmentPath, ResolvesAgainstThePlaylistsDirectory) {
  EXPECT_EQ(segment_path("/live/a/index.m3u8", "seg_1.ts"), "/live/a/seg_1.ts");
  EXPECT_EQ(segment_path("/live/a/index.m3u8", "seg_1.ts?token=x"), "/live/a/seg_1.ts");
  EXPECT_EQ(segment_path("/live/a/index.m3u8", "720p/seg_1.ts"), "/live/a/720p/seg_1.ts");
  EXPECT_EQ(segment_path("/live/a/720p.m3u8", "../b/./seg_1.ts"), "/live/b/seg_1.ts");
  EXPECT_EQ(segment_path("/live/a/index.m3u8", "/other/seg_1.ts"), "/other/seg_1.ts");
  EXPECT_EQ(segment_path("/live/a/index.m3u8", "https://cdn.example/live/a/seg_1.ts"), std::nullopt);
  EXPECT_EQ(segment_path("/live/a/index.m3u8", "//cdn.example/live/a/seg_1.ts"), std::nullopt);
  EXPECT_EQ(segment_path("/a/index.m3u8", "../../seg_1.ts"), std::nullopt);
}

TEST(LiveEdges, PlacesSegmentsAheadOfTheLastListed) {
  LiveEdges edges;
  edges.playlist("/live/a/index.m3u8", playlist(100, 3, seg), kT0);
  EXPECT_EQ(edges.streams(), 1u);
  for (std::uint64_t n : {90, 100, 102}) EXPECT_FALSE(edges.ahead(fmt::format("/live/a/{}", seg(n)), kT0)) << n;
  const auto next = edges.ahead("/live/a/seg_103.ts", kT0 + 1s);
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->ahead, 1u);
  EXPECT_EQ(next->target_duration, 6s);
  EXPECT_EQ(edges.ahead("/live/a/seg_105.ts?token=x", kT0)->ahead, 3u);
  // Another directory, another name: not placed.
  EXPECT_FALSE(edges.ahead("/live/b/seg_103.ts", kT0));
  EXPECT_FALSE(edges.ahead("/live/a/init.mp4", kT0));
  // The playlist moves on: so does the edge.
  edges.playlist("/live/a/index.m3u8", playlist(101, 3, seg), kT0 + 6s);
  EXPECT_FALSE(edges.ahead("/live/a/seg_103.ts", kT0 + 6s));
  EXPECT_EQ(edges.ahead("/live/a/seg_104.ts", kT0 + 6s)->ahead, 1u);
  EXPECT_EQ(edges.streams(), 1u);
}

TEST(LiveEdges, RenditionsSideBySideInOneDirectory) {
  LiveEdges edges;
  auto low = [](std::uint64_t n) { return fmt::format("low_{}.ts", n); };
  auto high = [](std::uint64_t n) { return fmt::format("high_{}.ts", n); };
  edges.playlist("/live/a/low.m3u8", playlist(10, 3, low), kT0);
  edges.playlist("/live/a/high.m3u8", playlist(20, 3, high), kT0);
  EXPECT_EQ(edges.streams(), 2u);
  EXPECT_EQ(edges.ahead("/live/a/low_13.ts", kT0)->ahead, 1u);
  EXPECT_EQ(edges.ahead("/live/a/high_23.ts", kT0)->ahead, 1u);
  EXPECT_FALSE(edges.ahead("/live/a/high_13.ts", kT0));
}

TEST(LiveEdges, SegmentsInAnotherDirectoryThanThePlaylist) {
  LiveEdges edges;
  edges.playlist("/live/a/720p.m3u8?token=x", playlist(7, 2, [](std::uint64_t n) { return "720p/" + session_seg(n); }),
                 kT0);
  EXPECT_EQ(edges.ahead("/live/a/720p/seg_a1b2c3_9.ts", kT0)->ahead, 1u);
  EXPECT_FALSE(edges.ahead("/live/a/seg_a1b2c3_9.ts", kT0));
}

TEST(LiveEdges, PlacesNothingForAnEndedOrOldPlaylist) {
  LiveEdges edges;
  edges.playlist("/live/a/index.m3u8", playlist(100, 3, seg), kT0);
  // Three target durations later the view is too old to place anything.
  EXPECT_TRUE(edges.ahead("/live/a/seg_103.ts", kT0 + 18s));
  EXPECT_FALSE(edges.ahead("/live/a/seg_103.ts", kT0 + 18s + 1ms));
  // An ended playlist: nothing comes after it.
  edges.playlist("/live/a/index.m3u8", playlist(101, 3, seg), kT0 + 20s);
  edges.playlist("/live/a/index.m3u8", playlist(101, 3, seg, 6, true), kT0 + 21s);
  EXPECT_FALSE(edges.ahead("/live/a/seg_104.ts", kT0 + 21s));
  EXPECT_EQ(edges.streams(), 0u);
  // Not a media playlist; no segment; no target duration: nothing recorded.
  edges.playlist("/live/b/index.m3u8", "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nlow.m3u8\n", kT0);
  edges.playlist("/live/b/index.m3u8", "#EXTM3U\n#EXT-X-TARGETDURATION:6\n", kT0);
  edges.playlist("/live/b/index.m3u8", "#EXTM3U\n#EXT-X-TARGETDURATION:x\n#EXTINF:6,\nseg_1.ts\n", kT0);
  EXPECT_EQ(edges.streams(), 0u);
}

TEST(LiveEdges, IsBounded) {
  LiveEdges edges;
  for (std::size_t i = 0; i < LiveEdges::kMaxPerDirectory + 2; ++i)
    edges.playlist(fmt::format("/live/a/r{}.m3u8", i), playlist(1, 2, seg), kT0 + std::chrono::seconds(i));
  EXPECT_EQ(edges.streams(), LiveEdges::kMaxPerDirectory);
  for (std::size_t i = 1; i < LiveEdges::kMaxDirectories + 10; ++i)
    edges.playlist(fmt::format("/live/s{}/index.m3u8", i), playlist(1, 2, seg), kT0);
  EXPECT_EQ(edges.streams(), LiveEdges::kMaxPerDirectory + LiveEdges::kMaxDirectories - 1);
  // Once the old ones are past their validity, a new directory takes their room.
  edges.playlist("/live/new/index.m3u8", playlist(1, 2, seg), kT0 + 1h);
  EXPECT_EQ(edges.streams(), 1u);
  EXPECT_EQ(edges.ahead("/live/new/seg_3.ts", kT0 + 1h)->ahead, 1u);
}

TEST(HeldFirstByteWait, TwoTargetDurationsWithinItsBounds) {
  TimeoutsConfig t;  // upstream_first_byte 5 s, follower_wait 30 s
  EXPECT_EQ(held_first_byte_wait(6s, t), 12s);
  EXPECT_EQ(held_first_byte_wait(1s, t), 5s);  // never less than upstream_first_byte
  EXPECT_EQ(held_first_byte_wait(20s, t), 30s);  // at most follower_wait
  t.follower_wait = 10min;
  EXPECT_EQ(held_first_byte_wait(3600s, t), kMaxHeldFirstByte);
}

TEST(LiveEdges, ABlockingReloadOfAKnownPlaylistGetsItsTargetDuration) {
  LiveEdges edges;
  EXPECT_EQ(edges.blocking_reload("/live/a/index.m3u8?_HLS_msn=12"), std::nullopt) << "no playlist seen yet";
  // A blocking reload's own answer records the stream under the playlist's path, once.
  edges.playlist("/live/a/index.m3u8?_HLS_msn=11&_HLS_part=2", playlist(10, 3, session_seg, 2), kT0);
  edges.playlist("/live/a/index.m3u8", playlist(10, 3, session_seg, 2), kT0);
  EXPECT_EQ(edges.streams(), 1u);
  EXPECT_EQ(edges.blocking_reload("/live/a/index.m3u8?_HLS_msn=13&_HLS_part=0"), std::optional<Duration>(2s));
  EXPECT_EQ(edges.blocking_reload("/live/a/index.m3u8?x=1&_HLS_msn=13"), std::optional<Duration>(2s));
  EXPECT_EQ(edges.blocking_reload("/live/a/index.m3u8"), std::nullopt) << "not a blocking reload";
  EXPECT_EQ(edges.blocking_reload("/live/a/index.m3u8?my_HLS_msn=13"), std::nullopt);
  EXPECT_EQ(edges.blocking_reload("/live/b/index.m3u8?_HLS_msn=13"), std::nullopt) << "another stream";
  EXPECT_TRUE(edges.ahead("/live/a/seg_a1b2c3_13.ts", kT0).has_value()) << "segments are placed as before";
}

TEST(HeldFirstByteWait, ABlockingReloadWaitsThreeAndAHalfTargetDurationsWithinTheSameBounds) {
  TimeoutsConfig t;  // upstream_first_byte 5 s, follower_wait 30 s
  EXPECT_EQ(blocking_reload_wait(2s, t), 7s);
  EXPECT_EQ(blocking_reload_wait(1s, t), 5s);
  EXPECT_EQ(blocking_reload_wait(10s, t), 30s);
}

}  // namespace
}  // namespace hlscache
