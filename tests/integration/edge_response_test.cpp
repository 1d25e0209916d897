// What the edge answers from a stored object and what it forwards (object_response.cpp,
// origin_attempt_h1.cpp): conditional requests (304), one byte range (206/416), HEAD, the
// gzip variant of playlists, the cache key without ignored query parameters,
// hop-by-hop headers dropped both ways, Via, and Cache-Status (RFC 9211) / X-Cache
// for each way a request can be served.
#include <gtest/gtest.h>

#include <regex>

#include "edge_test_util.hpp"

namespace hlscache::test {
namespace {

using EdgeResponseTest = EdgeTest;

constexpr const char* kLastModified = "Tue, 03 Nov 2026 10:00:00 GMT";

OriginReply segment(std::string body) {
  OriginReply r;
  r.body = std::move(body);
  r.headers = {{"Content-Type", "video/mp2t"}, {"ETag", "\"seg-v1\""}, {"Last-Modified", kLastModified}};
  return r;
}

class EdgeStoredSegmentTest : public EdgeTest {
 protected:
  void SetUp() override {
    body_ = pattern_body(4000, 5);
    origin_.set(path_, segment(body_));
    start();
    auto first = get(path_);
    ASSERT_TRUE(first.ok()) << first.describe();
    ASSERT_EQ(first.header("X-Cache").value_or(""), "MISS");
  }
  void TearDown() override {
    EXPECT_EQ(origin_.requests(path_), 1u) << "everything after the first request is served from cache";
    EdgeTest::TearDown();
  }
  const std::string path_ = "/live/stream1/seg_5.ts";
  std::string body_;
};

TEST_F(EdgeStoredSegmentTest, IfNoneMatchWithTheStoredEtagIs304) {
  auto r = get(path_, {{"If-None-Match", "\"seg-v1\""}});
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.status, 304) << r.describe();
  EXPECT_TRUE(r.body.empty());
  EXPECT_FALSE(r.has_header("Content-Length")) << r.describe();
  EXPECT_EQ(r.header("ETag").value_or(""), "\"seg-v1\"");
  EXPECT_EQ(r.header("X-Cache").value_or(""), "HIT");

  auto list = get(path_, {{"If-None-Match", "\"other\", W/\"seg-v1\""}});  // weak comparison
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list.status, 304) << list.describe();

  auto other = get(path_, {{"If-None-Match", "\"seg-v0\""}});
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other.status, 200);
  EXPECT_TRUE(other.body == body_);
}

TEST_F(EdgeStoredSegmentTest, IfModifiedSinceIs304UnlessModifiedLater) {
  auto same = get(path_, {{"If-Modified-Since", kLastModified}});
  ASSERT_TRUE(same.ok()) << same.describe();
  EXPECT_EQ(same.status, 304) << same.describe();
  EXPECT_TRUE(same.body.empty());

  auto later = get(path_, {{"If-Modified-Since", "Wed, 04 Nov 2026 10:00:00 GMT"}});
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(later.status, 304);

  auto earlier = get(path_, {{"If-Modified-Since", "Mon, 02 Nov 2026 10:00:00 GMT"}});
  ASSERT_TRUE(earlier.ok());
  EXPECT_EQ(earlier.status, 200) << earlier.describe();
  EXPECT_TRUE(earlier.body == body_);
}

TEST_F(EdgeStoredSegmentTest, RangeIsServedAs206WithExactlyThoseBytes) {
  auto r = get(path_, {{"Range", "bytes=0-99"}});
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.status, 206) << r.describe();
  EXPECT_EQ(r.header("Content-Range").value_or(""), "bytes 0-99/4000");
  EXPECT_EQ(r.header("Content-Length").value_or(""), "100");
  EXPECT_TRUE(r.body == body_.substr(0, 100));

  auto mid = get(path_, {{"Range", "bytes=1000-1999"}});
  ASSERT_TRUE(mid.ok());
  EXPECT_EQ(mid.status, 206);
  EXPECT_EQ(mid.header("Content-Range").value_or(""), "bytes 1000-1999/4000");
  EXPECT_TRUE(mid.body == body_.substr(1000, 1000));

  auto suffix = get(path_, {{"Range", "bytes=-10"}});
  ASSERT_TRUE(suffix.ok());
  EXPECT_EQ(suffix.status, 206);
  EXPECT_EQ(suffix.header("Content-Range").value_or(""), "bytes 3990-3999/4000");
  EXPECT_TRUE(suffix.body == body_.substr(3990));

  auto open_end = get(path_, {{"Range", "bytes=3900-"}});
  ASSERT_TRUE(open_end.ok());
  EXPECT_EQ(open_end.status, 206);
  EXPECT_TRUE(open_end.body == body_.substr(3900));
}

TEST_F(EdgeStoredSegmentTest, UnsatisfiableRangeIs416) {
  auto r = get(path_, {{"Range", "bytes=999999-"}});
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.status, 416) << r.describe();
  EXPECT_EQ(r.header("Content-Range").value_or(""), "bytes */4000");
}

TEST_F(EdgeStoredSegmentTest, HeadFromCacheHasTheHeadersAndNoBody) {
  auto c = Connection::open(port_);
  ASSERT_TRUE(c.connected());
  auto h = c.roundtrip(make_request("HEAD", path_), 5s, /*bodyless=*/true);
  ASSERT_TRUE(h.ok()) << h.describe();
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.header("Content-Length").value_or(""), "4000");
  EXPECT_EQ(h.header("ETag").value_or(""), "\"seg-v1\"");
  EXPECT_EQ(h.header("Content-Type").value_or(""), "video/mp2t");
  EXPECT_EQ(h.header("X-Cache").value_or(""), "HIT");
  // Had a body followed, the next response on this connection would not parse.
  auto next = c.roundtrip(make_request("GET", "/healthz"));
  ASSERT_TRUE(next.ok()) << next.describe();
  EXPECT_EQ(next.status, 200);
  EXPECT_EQ(next.body, "ok\n");
}

TEST_F(EdgeResponseTest, HeadOnAMissFetchesOnceAndSendsNoBody) {
  const std::string path = "/live/head_first.ts";
  origin_.set(path, segment("0123456789"));
  start();
  auto c = Connection::open(port_);
  auto h = c.roundtrip(make_request("HEAD", path), 5s, /*bodyless=*/true);
  ASSERT_TRUE(h.ok()) << h.describe();
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.header("Content-Length").value_or(""), "10");
  auto next = c.roundtrip(make_request("GET", path));
  ASSERT_TRUE(next.ok()) << next.describe();
  EXPECT_EQ(next.body, "0123456789");
  ASSERT_EQ(origin_.log().size(), 1u);
  EXPECT_EQ(origin_.log()[0].method, "GET") << "the edge fetches the whole object for a HEAD miss";
}

TEST_F(EdgeResponseTest, CachedPlaylistIsGzippedForClientsThatAcceptIt) {
  const std::string path = "/live/stream1/index.m3u8";
  std::string playlist = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:6\n#EXT-X-MEDIA-SEQUENCE:1\n";
  for (int i = 1; i <= 40; ++i) playlist += "#EXTINF:6.000,\nseg_" + std::to_string(i) + ".ts\n";
  OriginReply r;
  r.body = playlist;
  r.headers = {{"Content-Type", "application/vnd.apple.mpegurl"}};
  origin_.set(path, r);
  start();
  auto first = get(path);
  ASSERT_TRUE(first.ok()) << first.describe();
  EXPECT_EQ(first.body, playlist);

  auto gz = get(path, {{"Accept-Encoding", "br, gzip;q=0.8"}});
  ASSERT_TRUE(gz.ok()) << gz.describe();
  EXPECT_EQ(gz.status, 200);
  EXPECT_EQ(gz.header("X-Cache").value_or(""), "HIT");
  EXPECT_EQ(gz.header("Content-Encoding").value_or(""), "gzip") << gz.describe();
  EXPECT_NE(gz.header("Vary").value_or("").find("Accept-Encoding"), std::string::npos) << gz.describe();
  EXPECT_LT(gz.body.size(), playlist.size());
  auto plain = gunzip(gz.body);
  ASSERT_TRUE(plain.has_value()) << "not a gzip stream";
  EXPECT_EQ(*plain, playlist);

  auto identity = get(path);
  ASSERT_TRUE(identity.ok());
  EXPECT_FALSE(identity.has_header("Content-Encoding")) << identity.describe();
  EXPECT_EQ(identity.body, playlist);
  EXPECT_NE(identity.header("Vary").value_or("").find("Accept-Encoding"), std::string::npos);

  auto refused = get(path, {{"Accept-Encoding", "gzip;q=0"}});
  ASSERT_TRUE(refused.ok());
  EXPECT_FALSE(refused.has_header("Content-Encoding")) << refused.describe();
  EXPECT_EQ(refused.body, playlist);
  EXPECT_EQ(origin_.requests(path), 1u);
}

TEST_F(EdgeResponseTest, IgnoredQueryParametersShareOneCacheEntry) {
  const std::string path = "/live/stream1/seg_77.ts";
  origin_.set(path, segment("segment 77"));
  start(EdgeYaml().with_cache("key_ignore_params: [token]"));

  auto a = get(path + "?token=a");
  ASSERT_TRUE(a.ok()) << a.describe();
  EXPECT_EQ(a.header("X-Cache").value_or(""), "MISS");
  auto b = get(path + "?token=b");
  ASSERT_TRUE(b.ok()) << b.describe();
  EXPECT_EQ(b.header("X-Cache").value_or(""), "HIT") << "token is not part of the cache key";
  EXPECT_EQ(b.body, "segment 77");
  EXPECT_EQ(origin_.requests(path), 1u);
  auto log = origin_.log();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].target, path + "?token=a") << "the origin still gets the viewer's token";

  // Other parameters still make a different key.
  auto other = get(path + "?token=c&rendition=720p");
  ASSERT_TRUE(other.ok()) << other.describe();
  EXPECT_EQ(other.header("X-Cache").value_or(""), "MISS");
  EXPECT_EQ(origin_.requests(path), 2u);
  auto same_other = get(path + "?rendition=720p&token=d");
  ASSERT_TRUE(same_other.ok());
  EXPECT_EQ(same_other.header("X-Cache").value_or(""), "HIT") << same_other.describe();
  EXPECT_EQ(origin_.requests(path), 2u);
}

TEST_F(EdgeResponseTest, HopByHopHeadersAreDroppedAndViaIsAdded) {
  const std::string path = "/live/hop.ts";
  OriginReply r;
  r.body = "hop";
  r.headers = {{"Content-Type", "video/mp2t"}, {"Connection", "X-Foo, keep-alive"}, {"X-Foo", "1"},
               {"Keep-Alive", "timeout=5"}, {"X-Bar", "end-to-end"}};
  origin_.set(path, r);
  start();

  for (const char* expect : {"MISS", "HIT"}) {
    auto resp = get(path);
    ASSERT_TRUE(resp.ok()) << resp.describe();
    EXPECT_EQ(resp.header("X-Cache").value_or(""), expect);
    EXPECT_EQ(resp.body, "hop");
    EXPECT_FALSE(resp.has_header("X-Foo")) << "named in the origin's Connection header:\n" << resp.describe();
    EXPECT_FALSE(resp.has_header("Keep-Alive")) << resp.describe();
    EXPECT_EQ(resp.header("Connection").value_or(""), "") << resp.describe();
    EXPECT_EQ(resp.header("X-Bar").value_or(""), "end-to-end");
    EXPECT_NE(resp.header("Via").value_or("").find("edge-it"), std::string::npos) << resp.describe();
  }
  auto log = origin_.log();
  ASSERT_EQ(log.size(), 1u);
  auto via = log[0].header("Via");
  ASSERT_TRUE(via.has_value()) << "the request to the origin carries Via";
  EXPECT_NE(via->find("edge-it"), std::string::npos) << *via;
}

TEST_F(EdgeResponseTest, CacheStatusSaysHowEachRequestWasServed) {
  const std::string seg = "/live/cs.ts";
  OriginReply held = segment(pattern_body(10000, 11));
  held.hold = "cs";
  held.headers.emplace_back("Cache-Control", "max-age=1");
  origin_.set(seg, held);
  start();

  ClientHerd herd(port_, std::vector<std::string>(2, make_request("GET", seg)));
  ASSERT_TRUE(herd.connect_all());
  herd.start();
  ASSERT_TRUE(origin_.wait_for_held("cs", 1, 5s));
  ASSERT_TRUE(wait_metric_at_least(port_, "hlscache_coalesce_followers_total", "", 1, 5s));
  origin_.release("cs");
  ASSERT_TRUE(herd.wait_finished(5s));
  const auto t0 = std::chrono::steady_clock::now();
  auto rs = herd.results();
  const HerdResult* miss = nullptr;
  const HerdResult* coalesced = nullptr;
  for (const auto& r : rs) {
    if (r.header("X-Cache") == "MISS") miss = &r;
    if (r.header("X-Cache") == "COALESCED") coalesced = &r;
  }
  ASSERT_TRUE(miss && coalesced) << rs[0].describe() << "\n" << rs[1].describe();
  // RFC 9211: the cache's name, then parameters; a miss says it went forward.
  EXPECT_TRUE(std::regex_match(miss->header("Cache-Status").value_or(""), std::regex(R"(edge-it; fwd=miss(; .*)?)")))
      << miss->header("Cache-Status").value_or("(none)");
  EXPECT_EQ(miss->header("Cache-Status")->find("collapsed"), std::string::npos);
  EXPECT_TRUE(std::regex_match(coalesced->header("Cache-Status").value_or(""),
                               std::regex(R"(edge-it; fwd=miss(; [^;]+)*; collapsed(; .*)?)")))
      << coalesced->header("Cache-Status").value_or("(none)");

  auto hit = get(seg);
  ASSERT_TRUE(hit.ok());
  EXPECT_EQ(hit.header("X-Cache").value_or(""), "HIT");
  EXPECT_TRUE(std::regex_match(hit.header("Cache-Status").value_or(""), std::regex(R"(edge-it; hit; ttl=[01](; .*)?)")))
      << hit.header("Cache-Status").value_or("(none)");

  std::this_thread::sleep_until(t0 + 1300ms);
  origin_.rearm("cs");  // keep the refresh parked so the stale answer is what we see
  auto stale = get(seg);
  ASSERT_TRUE(stale.ok()) << stale.describe();
  EXPECT_EQ(stale.header("X-Cache").value_or(""), "STALE");
  // Served stale: a hit whose ttl has run out (negative), says it is revalidating.
  std::smatch m;
  std::string cs = stale.header("Cache-Status").value_or("");
  ASSERT_TRUE(std::regex_match(cs, m, std::regex(R"(edge-it; hit; ttl=(-?\d+); (.*))"))) << cs;
  EXPECT_LE(std::stol(m[1]), 0) << cs;
  EXPECT_NE(m[2].str().find("stale"), std::string::npos) << cs;
  origin_.release("cs");
}

}  // namespace
}  // namespace hlscache::test
