// The restart watch through the real edge (miss/stream_restart.hpp, issue 15): an
// upstream that restarts a stream and reuses its names. A playlist whose media
// sequence goes back, or a segment whose bytes change under its name, purges the
// stream's cached objects, so the next request for a reused name is a MISS with the
// new run's bytes, never a HIT with the old. A playlist that only moves forward
// purges nothing, and other streams keep their objects.
#include <gtest/gtest.h>

#include "edge_test_util.hpp"

namespace hlscache::test {
namespace {

using EdgeRestartTest = EdgeTest;
using Clock = std::chrono::steady_clock;

const std::vector<std::pair<std::string, std::string>> kPlaylistHeaders = {
    {"Content-Type", "application/vnd.apple.mpegurl"}, {"Cache-Control", "max-age=1"}};

std::string playlist(int media_sequence) {
  std::string s = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:" +
                  std::to_string(media_sequence) + "\n";
  for (int i = 0; i < 3; ++i) s += "#EXTINF:2.000,\nseg_" + std::to_string(media_sequence + i) + ".ts\n";
  return s;
}

OriginReply reply(std::string body, std::vector<std::pair<std::string, std::string>> headers) {
  OriginReply r;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

OriginReply segment(std::string body, std::vector<std::pair<std::string, std::string>> more = {}) {
  more.emplace_back("Content-Type", "video/mp2t");
  return reply(std::move(body), std::move(more));
}

// GETs `path` until its body is `want` (a stale copy may be served once while the
// refresh runs); true if it came within the timeout.
bool eventually_body(const std::function<HttpResponse(const std::string&)>& get, const std::string& path, const std::string& want, Millis timeout) {
  const auto until = Clock::now() + timeout;
  while (Clock::now() < until) {
    auto r = get(path);
    if (r.ok() && r.body == want) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

TEST_F(EdgeRestartTest, APlaylistGoingBackPurgesTheStreamSoReusedNamesAreFetchedAgain) {
  const std::string pl = "/live/a/index.m3u8", seg = "/live/a/seg_6.ts", other = "/live/b/seg_6.ts";
  origin_.set(pl, reply(playlist(5), kPlaylistHeaders));
  origin_.set(seg, segment(std::string(3000, 'o')));  // the old run's bytes
  origin_.set(other, segment(std::string(3000, 'b')));
  start(EdgeYaml().with_freshness("stale_wait: 0s"));

  ASSERT_EQ(get(pl).body, playlist(5));
  ASSERT_EQ(get(seg).body, std::string(3000, 'o'));
  ASSERT_EQ(get(other).body, std::string(3000, 'b'));
  ASSERT_EQ(get(seg).header("X-Cache").value_or(""), "HIT");

  // Forward is not a restart: seg_6 stays cached.
  origin_.set(pl, reply(playlist(6), kPlaylistHeaders));
  ASSERT_TRUE(eventually_body([this](const std::string& p) { return get(p); }, pl, playlist(6), 5s));
  auto still = get(seg);
  EXPECT_EQ(still.header("X-Cache").value_or(""), "HIT") << still.describe();
  EXPECT_EQ(edge_metric(port_, "hlscache_stream_restarts_total").value_or(-1), 0);

  // The upstream restarts: media sequence 0 again, and seg_6 will be the new run's.
  origin_.set(pl, reply(playlist(0), kPlaylistHeaders));
  origin_.set(seg, segment(std::string(3000, 'n')));
  ASSERT_TRUE(eventually_body([this](const std::string& p) { return get(p); }, pl, playlist(0), 5s));

  auto fresh = get(seg);
  ASSERT_TRUE(fresh.ok()) << fresh.describe();
  EXPECT_EQ(fresh.header("X-Cache").value_or(""), "MISS") << fresh.describe();
  EXPECT_EQ(fresh.body, std::string(3000, 'n')) << "the old run's bytes under the new run's name";
  EXPECT_EQ(origin_.requests(seg), 2u);
  // Another stream's objects were not touched.
  auto b = get(other);
  EXPECT_EQ(b.header("X-Cache").value_or(""), "HIT") << b.describe();
  EXPECT_EQ(edge_metric(port_, "hlscache_stream_restarts_total").value_or(-1), 1);
}

TEST_F(EdgeRestartTest, ASegmentWhoseETagChangesUnderItsNamePurgesItsStream) {
  const std::string s1 = "/live/c/seg_1.ts", s2 = "/live/c/seg_2.ts";
  origin_.set(s1, segment(std::string(2000, '1'), {{"ETag", "\"run1-1\""}, {"Cache-Control", "max-age=1"}}));
  origin_.set(s2, segment(std::string(2000, '2'), {{"ETag", "\"run1-2\""}}));  // no max-age: fresh for hours
  start(EdgeYaml().with_freshness("stale_wait: 0s"));

  ASSERT_EQ(get(s1).body, std::string(2000, '1'));
  ASSERT_EQ(get(s2).body, std::string(2000, '2'));
  ASSERT_EQ(get(s2).header("X-Cache").value_or(""), "HIT");

  origin_.set(s1, segment(std::string(2100, 'x'), {{"ETag", "\"run2-1\""}, {"Cache-Control", "max-age=1"}}));
  origin_.set(s2, segment(std::string(2100, 'y'), {{"ETag", "\"run2-2\""}}));
  // s1 expires; its revalidation gets a 200 with another ETag: the stream restarted.
  ASSERT_TRUE(eventually_body([this](const std::string& p) { return get(p); }, s1, std::string(2100, 'x'), 6s));

  // s2 was still fresh, but it belongs to the old run: fetched again.
  auto r = get(s2);
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.header("X-Cache").value_or(""), "MISS") << r.describe();
  EXPECT_EQ(r.body, std::string(2100, 'y')) << "the old run's bytes under the new run's name";
  EXPECT_EQ(edge_metric(port_, "hlscache_stream_restarts_total").value_or(-1), 1);
}

TEST_F(EdgeRestartTest, ASegmentRefetchedWithTheSameBytesPurgesNothing) {
  const std::string s1 = "/live/d/seg_1.ts", s2 = "/live/d/seg_2.ts";
  origin_.set(s1, segment(std::string(2000, '1'), {{"Cache-Control", "max-age=1"}}));
  origin_.set(s2, segment(std::string(2000, '2')));
  start(EdgeYaml().with_freshness("stale_wait: 0s"));
  ASSERT_EQ(get(s1).body, std::string(2000, '1'));
  ASSERT_EQ(get(s2).body, std::string(2000, '2'));
  std::this_thread::sleep_for(1300ms);
  ASSERT_EQ(get(s1).body, std::string(2000, '1'));  // stale, refreshed in the background
  ASSERT_TRUE(wait_metric(port_, "hlscache_coalesce_leaders_total", "", [](double v) { return v >= 3; }, 3s));
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(edge_metric(port_, "hlscache_stream_restarts_total").value_or(-1), 0);
  auto r = get(s2);
  EXPECT_EQ(r.header("X-Cache").value_or(""), "HIT") << r.describe();
}

}  // namespace
}  // namespace hlscache::test
