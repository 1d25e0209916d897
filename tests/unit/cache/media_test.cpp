// The playlist facts the cache reads (cache/media.hpp): where a media playlist stands
// in its stream (media sequence, discontinuity sequence, the first PROGRAM-DATE-TIME
// and the segment it dates, the segments it lists, its end) and the ISO 8601 date-time
// parser behind it.
#include <gtest/gtest.h>

#include "cache/media.hpp"

namespace hlscache {
namespace {

constexpr std::int64_t k2026_12_07 = 1796601600000;  // 2026-12-07T00:00:00Z in ms since the epoch

TEST(ProgramDateTime, ParsesUtcWithAndWithoutFraction) {
  EXPECT_EQ(parse_program_date_time("2026-12-07T00:00:00Z"), k2026_12_07);
  EXPECT_EQ(parse_program_date_time("2026-12-07T13:05:09.123Z"), k2026_12_07 + ((13 * 60 + 5) * 60 + 9) * 1000 + 123);
  EXPECT_EQ(parse_program_date_time("2026-12-07T00:00:00.5Z"), k2026_12_07 + 500);
  EXPECT_EQ(parse_program_date_time("2026-12-07T00:00:00.123456Z"), k2026_12_07 + 123);
}

TEST(ProgramDateTime, AppliesTheOffset) {
  EXPECT_EQ(parse_program_date_time("2026-12-07T01:00:00+01:00"), k2026_12_07);
  EXPECT_EQ(parse_program_date_time("2026-12-06T23:30:00-0030"), k2026_12_07);
}

TEST(ProgramDateTime, RefusesWhatIsNotOne) {
  for (const char* bad : {"", "2026-12-07", "2026-12-07T00:00:00", "2026-13-07T00:00:00Z", "2026-02-30T00:00:00Z",
                          "2026-12-07T24:00:00Z", "2026-12-07T00:00:00.Z", "2026-12-07T00:00:00Zjunk",
                          "2026-12-07 00:00:00Z", "20261207T000000Z", "2026-12-07T00:00:00+1"})
    EXPECT_FALSE(parse_program_date_time(bad).has_value()) << bad;
}

TEST(PlaylistPosition, ReadsTheSequencesAndTheFirstDatedSegment) {
  const std::string text =
      "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:41\n#EXT-X-DISCONTINUITY-SEQUENCE:3\n"
      "#EXTINF:2.0,\nseg_41.ts\n#EXTINF:2.0,\nseg_42.ts\n#EXT-X-DISCONTINUITY\n"
      "#EXT-X-PROGRAM-DATE-TIME:2026-12-07T00:00:00Z\n#EXTINF:2.0,\nseg_43.ts\n"
      "#EXT-X-PROGRAM-DATE-TIME:2026-12-07T00:00:02Z\n#EXTINF:2.0,\nseg_44.ts\n";
  auto p = playlist_position(text);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->media_sequence, 41u);
  EXPECT_EQ(p->discontinuity_sequence, 3u);
  EXPECT_EQ(p->first_pdt_ms, k2026_12_07);
  EXPECT_EQ(p->first_pdt_sequence, 43u);
  EXPECT_EQ(p->target_duration, 2.0);
  EXPECT_EQ(p->segment_count, 4u);
  EXPECT_EQ(p->first_uri, "seg_41.ts");
  EXPECT_EQ(p->last_uri, "seg_44.ts");
  EXPECT_FALSE(p->ended);
}

TEST(PlaylistPosition, ReadsTheEndAndAnUnreadableTargetDuration) {
  auto p = playlist_position("#EXTM3U\n#EXT-X-TARGETDURATION:x\n#EXTINF:6,\n a.ts \n#EXT-X-ENDLIST\n");
  ASSERT_TRUE(p.has_value());
  EXPECT_FALSE(p->target_duration.has_value());
  EXPECT_EQ(p->segment_count, 1u);
  EXPECT_EQ(p->first_uri, "a.ts");
  EXPECT_EQ(p->last_uri, "a.ts");
  EXPECT_TRUE(p->ended);
}

TEST(PlaylistPosition, DefaultsToZeroAndNoDate) {
  auto p = playlist_position("#EXTM3U\r\n#EXT-X-TARGETDURATION:6\r\n#EXTINF:6,\r\na.ts\r\n");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->media_sequence, 0u);
  EXPECT_EQ(p->discontinuity_sequence, 0u);
  EXPECT_FALSE(p->first_pdt_ms.has_value());
}

TEST(PlaylistPosition, IsNullForAMultivariantPlaylist) {
  EXPECT_FALSE(playlist_position("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000\nlow/index.m3u8\n").has_value());
  EXPECT_FALSE(playlist_position("").has_value());
}

}  // namespace
}  // namespace hlscache
