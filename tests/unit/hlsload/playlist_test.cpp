// hlsload's client-side playlist parser: master and media playlists as the segmenter
// writes them, the tags a player needs, and clear errors for what is not a playlist.
#include <gtest/gtest.h>

#include "hlsload/playlist.hpp"

namespace hlsload {
namespace {

TEST(HlsloadPlaylist, MasterPlaylistListsItsVariants) {
  auto p = parse_playlist(
      "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n"
      "#EXT-X-STREAM-INF:BANDWIDTH=2800000,AVERAGE-BANDWIDTH=2600000,RESOLUTION=1280x720,CODECS=\"avc1.4d401f,mp4a.40.2\"\n"
      "720p/index.m3u8\n"
      "#EXT-X-STREAM-INF:CODECS=\"avc1.4d401e,mp4a.40.2\",BANDWIDTH=900000,RESOLUTION=640x360\n"
      "360p/index.m3u8\n");
  auto* m = std::get_if<MasterPlaylist>(&p);
  ASSERT_NE(m, nullptr);
  ASSERT_EQ(m->variants.size(), 2u);
  EXPECT_EQ(m->variants[0].bandwidth, 2800000u);
  EXPECT_EQ(m->variants[0].width, 1280);
  EXPECT_EQ(m->variants[0].height, 720);
  EXPECT_EQ(m->variants[0].uri, "720p/index.m3u8");
  EXPECT_EQ(m->variants[1].bandwidth, 900000u);  // after a quoted value with commas
  EXPECT_EQ(m->variants[1].uri, "360p/index.m3u8");
}

TEST(HlsloadPlaylist, LiveMediaPlaylistNumbersSegmentsFromMediaSequence) {
  auto p = parse_playlist(
      "#EXTM3U\r\n#EXT-X-VERSION:3\r\n#EXT-X-TARGETDURATION:2\r\n#EXT-X-MEDIA-SEQUENCE:41\r\n"
      "#EXT-X-DISCONTINUITY-SEQUENCE:1\r\n"
      "#EXT-X-PROGRAM-DATE-TIME:2024-01-02T03:04:05.678Z\r\n#EXTINF:2.000,\r\nseg_41.ts\r\n"
      "#EXT-X-DISCONTINUITY\r\n#EXTINF:1.960,title\r\nseg_42.ts\r\n#EXTINF:2,\r\nseg_43.ts\r\n");
  auto* m = std::get_if<MediaPlaylist>(&p);
  ASSERT_NE(m, nullptr) << std::get<ParseError>(p).what;
  EXPECT_EQ(m->target_duration, 2.0);
  EXPECT_EQ(m->media_sequence, 41u);
  EXPECT_FALSE(m->ended);
  ASSERT_EQ(m->segments.size(), 3u);
  EXPECT_EQ(m->segments[0].sequence, 41u);
  EXPECT_EQ(m->segments[2].sequence, 43u);
  EXPECT_EQ(m->next_sequence(), 44u);
  EXPECT_DOUBLE_EQ(m->segments[1].duration, 1.96);
  EXPECT_FALSE(m->segments[0].discontinuity);
  EXPECT_TRUE(m->segments[1].discontinuity);
  EXPECT_FALSE(m->segments[2].discontinuity);
  EXPECT_EQ(m->segments[1].uri, "seg_42.ts");
  EXPECT_NEAR(m->total_duration(), 5.96, 1e-9);
}

TEST(HlsloadPlaylist, EndlistAndMissingMediaSequence) {
  auto p = parse_playlist("#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4.0,\na.ts\n#EXTINF:3.5,\nb.ts\n#EXT-X-ENDLIST\n");
  auto* m = std::get_if<MediaPlaylist>(&p);
  ASSERT_NE(m, nullptr);
  EXPECT_TRUE(m->ended);
  EXPECT_EQ(m->media_sequence, 0u);  // §4.3.3.2: absent means 0
  EXPECT_EQ(m->segments[1].sequence, 1u);
}

TEST(HlsloadPlaylist, LiveStartIsThreeTargetDurationsFromTheEnd) {
  auto p = parse_playlist(
      "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:10\n"
      "#EXTINF:2.0,\ns10.ts\n#EXTINF:2.0,\ns11.ts\n#EXTINF:2.0,\ns12.ts\n#EXTINF:2.0,\ns13.ts\n#EXTINF:2.0,\ns14.ts\n");
  const auto& m = std::get<MediaPlaylist>(p);
  EXPECT_EQ(m.segments[m.live_start_index(3)].sequence, 12u);  // starts 6 s before the end
  EXPECT_EQ(m.segments[m.live_start_index(0)].sequence, 14u);  // the last segment
  EXPECT_EQ(m.segments[m.live_start_index(1.5)].sequence, 13u);
  EXPECT_EQ(m.segments[m.live_start_index(100)].sequence, 10u);  // shorter than asked: the first
}

TEST(HlsloadPlaylist, ErrorsSayWhatIsWrong) {
  auto err = [](std::string_view text) {
    auto p = parse_playlist(text);
    auto* e = std::get_if<ParseError>(&p);
    return e ? e->what : std::string("(parsed)");
  };
  EXPECT_NE(err("<html>not found</html>").find("#EXTM3U"), std::string::npos);
  EXPECT_NE(err("").find("#EXTM3U"), std::string::npos);
  EXPECT_NE(err("#EXTM3U\n#EXT-X-TARGETDURATION:2\nseg.ts\n").find("line 3"), std::string::npos);
  EXPECT_NE(err("#EXTM3U\n#EXT-X-TARGETDURATION:x\n").find("TARGETDURATION"), std::string::npos);
  EXPECT_NE(err("#EXTM3U\n#EXT-X-TARGETDURATION:0\n").find("TARGETDURATION"), std::string::npos);
  EXPECT_NE(err("#EXTM3U\n#EXTINF:2.0,\nseg.ts\n").find("without #EXT-X-TARGETDURATION"), std::string::npos);
  EXPECT_NE(err("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:-1,\nseg.ts\n").find("EXTINF"), std::string::npos);
  EXPECT_NE(err("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:nan,\nseg.ts\n").find("EXTINF"), std::string::npos);
  EXPECT_NE(err("#EXTM3U\n#EXT-X-STREAM-INF:RESOLUTION=1x1\na.m3u8\n").find("BANDWIDTH"), std::string::npos);
  EXPECT_NE(err("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n").find("no URI"), std::string::npos);
  EXPECT_NE(err("#EXTM3U\n#EXT-X-VERSION:3\n").find("neither"), std::string::npos);
  EXPECT_NE(err("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-STREAM-INF:BANDWIDTH=1\na.m3u8\n").find("both"),
            std::string::npos);
}

TEST(HlsloadPlaylist, UrisResolveAgainstThePlaylistDirectory) {
  EXPECT_EQ(resolve_path("/live/a/index.m3u8", "seg_1.ts"), "/live/a/seg_1.ts");
  EXPECT_EQ(resolve_path("/live/a/index.m3u8", "720p/index.m3u8"), "/live/a/720p/index.m3u8");
  EXPECT_EQ(resolve_path("/live/a/720p/index.m3u8?token=1", "seg_1.ts"), "/live/a/720p/seg_1.ts");
  EXPECT_EQ(resolve_path("/live/a/720p/index.m3u8", "../360p/index.m3u8"), "/live/a/360p/index.m3u8");
  EXPECT_EQ(resolve_path("/live/a/index.m3u8", "./seg_2.ts"), "/live/a/seg_2.ts");
  EXPECT_EQ(resolve_path("/live/a/index.m3u8", "/other/seg.ts"), "/other/seg.ts");
  EXPECT_EQ(resolve_path("/live/a/index.m3u8", "http://127.0.0.1:8080/x/seg.ts"), "/x/seg.ts");
  EXPECT_EQ(resolve_path("/index.m3u8", "../../seg.ts"), "/seg.ts");
}

}  // namespace
}  // namespace hlsload
