// The restart watch (miss/stream_restart.hpp): which answers say that a stream's
// upstream restarted with reused names, and what is purged when one does — the
// stream's directory, nothing else.
#include <gtest/gtest.h>

#include "miss/stream_restart.hpp"

namespace hlscache {
namespace {

using namespace std::chrono_literals;

std::string playlist(int msn, int dsn = 0, const char* pdt = nullptr) {
  std::string s = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:" + std::to_string(msn) + "\n";
  if (dsn) s += "#EXT-X-DISCONTINUITY-SEQUENCE:" + std::to_string(dsn) + "\n";
  if (pdt) s += std::string("#EXT-X-PROGRAM-DATE-TIME:") + pdt + "\n";
  for (int i = 0; i < 3; ++i) s += "#EXTINF:2.0,\nseg_" + std::to_string(msn + i) + ".ts\n";
  return s;
}

std::shared_ptr<Object> object(int status, std::string body, std::string etag = {}, std::string lm = {}) {
  auto o = std::make_shared<Object>();
  o->status = status;
  o->body_size = body.size();
  if (!body.empty()) o->body.push_back(Chunk::copy_of(body));
  o->etag = std::move(etag);
  o->last_modified = std::move(lm);
  o->serialize_headers();
  return o;
}

std::string reason(MediaKind k, const std::string& before, const std::string& after) {
  return restart_reason(k, *object(200, before), before, *object(200, after), after);
}

TEST(RestartReason, APlaylistMovingForwardIsNoRestart) {
  EXPECT_EQ(reason(MediaKind::playlist, playlist(5), playlist(5)), "");
  EXPECT_EQ(reason(MediaKind::playlist, playlist(5), playlist(6)), "");
  EXPECT_EQ(reason(MediaKind::playlist, playlist(5, 1), playlist(9, 2)), "");
  EXPECT_EQ(reason(MediaKind::playlist, playlist(5, 0, "2026-12-07T10:00:00Z"), playlist(6, 0, "2026-12-07T10:00:02Z")),
            "");
}

TEST(RestartReason, AMediaSequenceGoingBackIsARestart) {
  EXPECT_NE(reason(MediaKind::playlist, playlist(500), playlist(0)), "");
  EXPECT_NE(reason(MediaKind::playlist, playlist(7), playlist(6)), "");
}

TEST(RestartReason, ADiscontinuitySequenceGoingBackIsARestart) {
  EXPECT_NE(reason(MediaKind::playlist, playlist(10, 4), playlist(11, 1)), "");
}

TEST(RestartReason, ALaterSegmentDatedEarlierIsARestart) {
  // A clock-derived media sequence keeps rising over a restart; the dates go back.
  EXPECT_NE(reason(MediaKind::playlist, playlist(100, 0, "2026-12-07T10:00:00Z"),
                   playlist(101, 0, "2026-12-07T09:00:00Z")),
            "");
  // Within the second that rounding may explain: not.
  EXPECT_EQ(reason(MediaKind::playlist, playlist(100, 0, "2026-12-07T10:00:00.900Z"),
                   playlist(100, 0, "2026-12-07T10:00:00.000Z")),
            "");
}

TEST(RestartReason, MultivariantPlaylistsAndOtherAnswersAreNotCompared) {
  const std::string master = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nlow.m3u8\n";
  EXPECT_EQ(reason(MediaKind::playlist, master, master + "#EXT-X-STREAM-INF:BANDWIDTH=2\nhigh.m3u8\n"), "");
  EXPECT_EQ(restart_reason(MediaKind::playlist, *object(404, "gone"), "gone", *object(200, playlist(0)), playlist(0)),
            "");
  EXPECT_EQ(restart_reason(MediaKind::other, *object(200, "a", "\"1\""), "", *object(200, "b", "\"2\""), ""), "");
}

TEST(RestartReason, ASegmentsValidatorsOrLengthChangingUnderItsNameIsARestart) {
  auto seg = [](std::string body, std::string etag, std::string lm) { return object(200, std::move(body), etag, lm); };
  const auto k = MediaKind::segment;
  EXPECT_NE(restart_reason(k, *seg("aaaa", "\"1\"", ""), "", *seg("aaaa", "\"2\"", ""), ""), "");
  EXPECT_EQ(restart_reason(k, *seg("aaaa", "\"1\"", ""), "", *seg("aaaa", "\"1\"", ""), ""), "");
  // The ETag decides when both have one; Last-Modified when they do not.
  EXPECT_EQ(restart_reason(k, *seg("aaaa", "\"1\"", "Mon, 07 Dec 2026 10:00:00 GMT"), "",
                           *seg("aaaa", "\"1\"", "Mon, 07 Dec 2026 11:00:00 GMT"), ""),
            "");
  EXPECT_NE(restart_reason(k, *seg("aaaa", "", "Mon, 07 Dec 2026 10:00:00 GMT"), "",
                           *seg("aaaa", "", "Mon, 07 Dec 2026 11:00:00 GMT"), ""),
            "");
  // Neither: the length.
  EXPECT_NE(restart_reason(k, *seg("aaaa", "", ""), "", *seg("aaaaa", "", ""), ""), "");
  EXPECT_EQ(restart_reason(k, *seg("aaaa", "", ""), "", *seg("bbbb", "", ""), ""), "");
}

TEST(StreamPrefix, IsTheKeysDirectory) {
  EXPECT_EQ(stream_prefix("/live/a/seg_1.ts"), "/live/a/");
  EXPECT_EQ(stream_prefix("/live/a/index.m3u8?x=/y/z"), "/live/a/");
  EXPECT_EQ(stream_prefix("/seg.ts"), "/");
  EXPECT_EQ(stream_prefix("nodir"), "");
}

TEST(PurgeIfRestarted, PurgesTheStreamsDirectoryOnlyOnARestart) {
  Cache cache(PolicyKind::lru, 16 << 20, 2);
  const TimePoint now{};
  auto keep = [&](std::shared_ptr<Object> o) {
    o->stored_at = now;
    o->fresh_until = now + 1h;
    o->stale_until = o->fresh_until;
    return o;
  };
  cache.insert("/live/a/index.m3u8", keep(object(200, playlist(50))), now);
  cache.insert("/live/a/seg_50.ts", keep(object(200, "old")), now);
  cache.insert("/live/b/seg_50.ts", keep(object(200, "other")), now);

  const std::string forward = playlist(51);
  EXPECT_FALSE(purge_if_restarted(cache, "/live/a/index.m3u8", MediaKind::playlist, *object(200, forward), forward));
  EXPECT_TRUE(cache.contains("/live/a/seg_50.ts"));

  const std::string restarted = playlist(0);
  EXPECT_TRUE(purge_if_restarted(cache, "/live/a/index.m3u8", MediaKind::playlist, *object(200, restarted), restarted));
  EXPECT_FALSE(cache.contains("/live/a/seg_50.ts"));
  EXPECT_FALSE(cache.contains("/live/a/index.m3u8"));
  EXPECT_TRUE(cache.contains("/live/b/seg_50.ts"));
  // Nothing stored under the key: nothing to compare.
  EXPECT_FALSE(purge_if_restarted(cache, "/live/c/index.m3u8", MediaKind::playlist, *object(200, restarted), restarted));
}

}  // namespace
}  // namespace hlscache
