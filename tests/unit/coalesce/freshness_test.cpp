// Freshness (src/cache/freshness.*): what is stored and for how long — RFC 9111
// directives first, then configured path rules, then the live-HLS defaults — and
// the cache key, hop-by-hop headers and glob helpers. Pure functions: no clock.
// (Lives in test_coalesce: tests/unit/cache is another suite's folder.)
#include <gtest/gtest.h>

#include "cache/freshness.hpp"

namespace hlscache {
namespace {

using namespace std::chrono_literals;

FreshnessConfig defaults() { return FreshnessConfig{}; }

FreshnessDecision decide(int status, std::vector<Header> headers, std::string_view path = "/live/s/seg_1.ts",
                         std::string_view body = {}, const FreshnessConfig& cfg = defaults()) {
  return decide_freshness(status, headers, path, body, cfg);
}
FreshnessDecision with_cc(std::string cc, std::string_view path = "/live/s/seg_1.ts") {
  return decide(200, {{"Cache-Control", std::move(cc)}}, path);
}

constexpr std::string_view kLive =
    "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:6\n#EXT-X-MEDIA-SEQUENCE:1042\n"
    "#EXTINF:6.000,\nseg_1042.ts\n#EXTINF:6.000,\nseg_1043.ts\n";
constexpr std::string_view kEnded =
    "#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6.000,\nseg_0.ts\n#EXT-X-ENDLIST\n";

TEST(Freshness, PrivateOrUncacheableResponsesAreNotStored) {
  for (std::string cc : {"no-store", "private", "no-cache", "max-age=60, no-store", "public, Private",
                         "NO-CACHE", "s-maxage=10,no-cache"}) {
    SCOPED_TRACE(cc);
    auto d = with_cc(cc);
    EXPECT_FALSE(d.store);
    EXPECT_EQ(d.ttl, Duration::zero());
  }
  EXPECT_STREQ(with_cc("no-store").reason, "no-store");
  EXPECT_STREQ(with_cc("private").reason, "private");
  EXPECT_STREQ(with_cc("no-cache").reason, "no-cache");
  // ... also for error statuses that would otherwise be cached negatively.
  EXPECT_FALSE(decide(404, {{"Cache-Control", "no-store"}}).store);

  for (std::string vary : {"Cookie", "*", "Accept-Encoding, Cookie", "User-Agent"}) {
    SCOPED_TRACE(vary);
    auto d = decide(200, {{"Vary", vary}});
    EXPECT_FALSE(d.store);
    EXPECT_STREQ(d.reason, "vary");
  }
}

TEST(Freshness, VaryOnAcceptEncodingIsStored) {
  for (std::string vary : {"Accept-Encoding", "accept-encoding", " Accept-Encoding ,", ""}) {
    SCOPED_TRACE(vary);
    auto d = decide(200, {{"Vary", vary}});
    EXPECT_TRUE(d.store);
    EXPECT_EQ(d.ttl, defaults().segment_ttl);
  }
}

TEST(Freshness, NotFoundAndGoneAreCachedForTheNegativeTtl) {
  for (int status : {404, 410}) {
    SCOPED_TRACE(status);
    auto d = decide(status, {});
    EXPECT_TRUE(d.store);
    EXPECT_EQ(d.ttl, 1s);
    EXPECT_EQ(d.grace, Duration::zero());
    EXPECT_STREQ(d.reason, "negative");
  }
  FreshnessConfig cfg;
  cfg.negative_ttl = 2500ms;
  EXPECT_EQ(decide(404, {}, "/x.m3u8", {}, cfg).ttl, 2500ms);
  cfg.negative_ttl = 0ms;  // switched off
  EXPECT_FALSE(decide(404, {}, "/x.m3u8", {}, cfg).store);
}

TEST(Freshness, ServerErrorsAndOtherStatusesAreNotStored) {
  for (int status : {500, 502, 503, 504, 206, 302, 304, 400, 403}) {
    SCOPED_TRACE(status);
    auto d = decide(status, {{"Cache-Control", "max-age=60"}});
    EXPECT_FALSE(d.store);
  }
  for (int status : {200, 203, 204, 301, 308}) {
    SCOPED_TRACE(status);
    EXPECT_TRUE(decide(status, {{"Cache-Control", "max-age=60"}}).store);
  }
}

TEST(Freshness, SMaxageBeatsMaxAgeBeatsExpires) {
  const Header date{"Date", "Sun, 06 Nov 1994 08:49:37 GMT"};
  const Header expires{"Expires", "Sun, 06 Nov 1994 08:54:37 GMT"};  // Date + 300 s

  auto d = decide(200, {{"Cache-Control", "max-age=60, s-maxage=30"}, date, expires});
  EXPECT_EQ(d.ttl, 30s);
  EXPECT_STREQ(d.reason, "s-maxage");
  d = decide(200, {{"Cache-Control", "s-maxage=90,max-age=60"}});
  EXPECT_EQ(d.ttl, 90s);

  d = decide(200, {{"Cache-Control", "public, max-age=60"}, date, expires});
  EXPECT_EQ(d.ttl, 60s);
  EXPECT_STREQ(d.reason, "max-age");
  d = decide(200, {{"cache-control", "max-age=\"45\""}});  // quoted form, any header-name case
  EXPECT_EQ(d.ttl, 45s);

  d = decide(200, {date, expires});
  EXPECT_EQ(d.ttl, 300s);
  EXPECT_STREQ(d.reason, "expires");
  d = decide(200, {{"Date", "Sunday, 06-Nov-94 08:49:37 GMT"}, {"Expires", "Sun Nov  6 08:50:37 1994"}});
  EXPECT_EQ(d.ttl, 60s);  // RFC 850 and asctime dates are read too

  // An Expires at or before Date, or unparseable ("0"), means already stale.
  for (std::string e : {"Sun, 06 Nov 1994 08:49:37 GMT", "Sat, 05 Nov 1994 08:49:37 GMT", "0", "garbage"}) {
    SCOPED_TRACE(e);
    d = decide(200, {date, {"Expires", e}});
    EXPECT_EQ(d.ttl, Duration::zero());
    EXPECT_TRUE(d.store);  // servable stale within the grace
    EXPECT_EQ(d.grace, 10s);
  }
  // Expires beats the configured rules and defaults.
  FreshnessConfig cfg;
  cfg.rules = {{"*", 7000ms}};
  EXPECT_EQ(decide(200, {date, expires}, "/a.ts", {}, cfg).ttl, 300s);
}

TEST(Freshness, TheUpstreamsAgeIsSubtracted) {
  auto d = decide(200, {{"Cache-Control", "max-age=60"}, {"Age", "20"}});
  EXPECT_EQ(d.ttl, 40s);
  EXPECT_EQ(d.initial_age, 20s);

  d = decide(200, {{"Cache-Control", "max-age=60"}, {"Age", "90"}});
  EXPECT_EQ(d.ttl, Duration::zero());  // already stale, never negative
  EXPECT_TRUE(d.store);                // still within the grace
  EXPECT_EQ(d.initial_age, 90s);

  d = decide(200, {{"Cache-Control", "max-age=60, must-revalidate"}, {"Age", "90"}});
  EXPECT_FALSE(d.store);  // stale with no grace: nothing to keep

  d = decide(200, {{"Age", "100"}});  // defaults are ages too
  EXPECT_EQ(d.ttl, defaults().segment_ttl - 100s);

  d = decide(200, {{"Cache-Control", "max-age=60"}, {"Age", "bogus"}});
  EXPECT_EQ(d.ttl, 60s);
  EXPECT_EQ(d.initial_age, 0s);
}

TEST(Freshness, PathRulesApplyFirstMatchWins) {
  FreshnessConfig cfg;
  cfg.rules = {{"/live/*/master.m3u8", 5000ms}, {"/live/*", 7000ms}, {"*.ts", 9000ms}};
  auto d = decide(200, {}, "/live/s1/master.m3u8", kLive, cfg);
  EXPECT_EQ(d.ttl, 5s);
  EXPECT_STREQ(d.reason, "rule");
  EXPECT_EQ(decide(200, {}, "/live/s1/seg_1.ts", {}, cfg).ttl, 7s);  // not the later *.ts rule
  EXPECT_EQ(decide(200, {}, "/live/s1/index.m3u8", kLive, cfg).ttl, 7s);
  EXPECT_EQ(decide(200, {}, "/vod/a/seg_1.ts", {}, cfg).ttl, 9s);
  d = decide(200, {}, "/vod/a/index.m3u8", kLive, cfg);  // no rule: the live default
  EXPECT_EQ(d.ttl, 3s);
  EXPECT_STREQ(d.reason, "live playlist: target duration");
  // The upstream's own directives come first.
  EXPECT_EQ(decide(200, {{"Cache-Control", "max-age=2"}}, "/live/s1/seg_1.ts", {}, cfg).ttl, 2s);
}

TEST(Freshness, DefaultsForSegmentsAndPlaylists) {
  auto d = decide(200, {}, "/live/s/seg_1.ts");
  EXPECT_TRUE(d.store);
  EXPECT_EQ(d.ttl, defaults().segment_ttl);
  EXPECT_EQ(d.grace, 10s);
  EXPECT_STREQ(d.reason, "segment");
  EXPECT_EQ(decide(200, {}, "/vod/init.m4s").ttl, defaults().segment_ttl);

  d = decide(200, {}, "/live/s/index.m3u8", kLive);  // 6 x 0.5
  EXPECT_EQ(d.ttl, 3s);
  FreshnessConfig cfg;
  cfg.playlist_ttl_fraction = 0.25;
  EXPECT_EQ(decide(200, {}, "/live/s/index.m3u8", kLive, cfg).ttl, 1500ms);
  // A playlist by Content-Type, whatever its path.
  d = decide(200, {{"Content-Type", "application/vnd.apple.mpegurl"}}, "/live/s/playlist", kLive);
  EXPECT_EQ(d.ttl, 3s);
  d = decide(200, {{"Content-Type", "application/x-mpegURL"}}, "/live/s/playlist", kLive);
  EXPECT_EQ(d.ttl, 3s);  // not a day, as an unknown object would get

  d = decide(200, {}, "/live/s/index.m3u8", "#EXTM3U\n#EXTINF:6.0,\nseg_1.ts\n");
  EXPECT_EQ(d.ttl, defaults().playlist_ttl_default);
  EXPECT_STREQ(d.reason, "live playlist: default");
  EXPECT_EQ(decide(200, {}, "/live/s/index.m3u8", "").ttl, 1s);  // body not available

  d = decide(200, {}, "/vod/s/index.m3u8", kEnded);
  EXPECT_EQ(d.ttl, defaults().segment_ttl);
  EXPECT_STREQ(d.reason, "ended playlist");

  d = decide(200, {}, "/robots.txt");
  EXPECT_EQ(d.ttl, defaults().segment_ttl);
  EXPECT_STREQ(d.reason, "default");
}

TEST(Freshness, MustRevalidateMeansNoGraceAndStaleWhileRevalidateExtendsIt) {
  EXPECT_EQ(with_cc("max-age=10").grace, 10s);
  EXPECT_EQ(with_cc("max-age=10, must-revalidate").grace, Duration::zero());
  EXPECT_EQ(with_cc("max-age=10, proxy-revalidate").grace, Duration::zero());
  EXPECT_EQ(with_cc("max-age=10, stale-while-revalidate=30").grace, 30s);
  EXPECT_EQ(with_cc("max-age=10, stale-while-revalidate=2").grace, 10s);  // never below the configured grace
  EXPECT_EQ(with_cc("max-age=10, must-revalidate, stale-while-revalidate=30").grace, Duration::zero());
  auto d = with_cc("max-age=0, must-revalidate");
  EXPECT_FALSE(d.store);
  d = with_cc("max-age=0");
  EXPECT_TRUE(d.store);  // stale at once, still servable within the grace
  EXPECT_EQ(d.ttl, Duration::zero());
}

TEST(Freshness, PlaylistTargetDurationAndEndlist) {
  EXPECT_EQ(playlist_target_duration(kLive), 6.0);
  EXPECT_EQ(playlist_target_duration("#EXTM3U\r\n#EXT-X-TARGETDURATION:4\r\n"), 4.0);
  EXPECT_EQ(playlist_target_duration("#EXT-X-TARGETDURATION: 2 \n"), 2.0);
  EXPECT_EQ(playlist_target_duration("#EXT-X-TARGETDURATION:6.5"), 6.5);
  EXPECT_EQ(playlist_target_duration("#EXTM3U\n"), std::nullopt);
  EXPECT_EQ(playlist_target_duration("#EXT-X-TARGETDURATION:0\n"), std::nullopt);
  EXPECT_EQ(playlist_target_duration("#EXT-X-TARGETDURATION:-3\n"), std::nullopt);
  EXPECT_EQ(playlist_target_duration("#EXT-X-TARGETDURATION:six\n"), std::nullopt);
  EXPECT_EQ(playlist_target_duration("#EXT-X-TARGETDURATION:\n"), std::nullopt);
  EXPECT_TRUE(playlist_has_endlist(kEnded));
  EXPECT_FALSE(playlist_has_endlist(kLive));
}

TEST(Freshness, MediaKind) {
  EXPECT_EQ(media_kind("/a/index.m3u8", ""), MediaKind::playlist);
  EXPECT_EQ(media_kind("/a/INDEX.M3U8", ""), MediaKind::playlist);
  EXPECT_EQ(media_kind("/a/list.m3u", ""), MediaKind::playlist);
  EXPECT_EQ(media_kind("/a/x", "application/x-mpegURL"), MediaKind::playlist);
  EXPECT_EQ(media_kind("/a/seg_1.ts", "video/mp2t"), MediaKind::segment);
  for (const char* p : {"/a.m4s", "/a.mp4", "/a.aac", "/a.vtt", "/a.key", "/a.TS"})
    EXPECT_EQ(media_kind(p, ""), MediaKind::segment) << p;
  EXPECT_EQ(media_kind("/a/tsx", ""), MediaKind::other);
  EXPECT_EQ(media_kind("/index.html", "text/html"), MediaKind::other);
  EXPECT_EQ(media_kind("", ""), MediaKind::other);
}

TEST(CacheKey, DropsConfiguredParametersAndKeepsOrder) {
  const std::vector<std::string> ignore{"token", "sig"};
  EXPECT_EQ(normalize_cache_key("/a.ts?x=1&token=2&y=3", ignore), "/a.ts?x=1&y=3");
  EXPECT_EQ(normalize_cache_key("/a.ts?b=2&a=1", ignore), "/a.ts?b=2&a=1");  // not sorted
  EXPECT_EQ(normalize_cache_key("/a.ts?token=2", ignore), "/a.ts");           // all dropped: no '?'
  EXPECT_EQ(normalize_cache_key("/a.ts?token=1&sig=abc", ignore), "/a.ts");
  EXPECT_EQ(normalize_cache_key("/a.ts?token=1&x=2", ignore), "/a.ts?x=2");
  EXPECT_EQ(normalize_cache_key("/a.ts?x=2&sig", ignore), "/a.ts?x=2");       // a bare name too
  EXPECT_EQ(normalize_cache_key("/a.ts?tokenx=1&Token=2", ignore), "/a.ts?tokenx=1&Token=2");  // exact names
  EXPECT_EQ(normalize_cache_key("/a.ts?x=token", ignore), "/a.ts?x=token");   // values don't matter
  EXPECT_EQ(normalize_cache_key("/a.ts", ignore), "/a.ts");
  EXPECT_EQ(normalize_cache_key("/a.ts?", ignore), "/a.ts");
  EXPECT_EQ(normalize_cache_key("/a.ts?x=1&&y=2&", ignore), "/a.ts?x=1&y=2");  // empty parameters
  EXPECT_EQ(normalize_cache_key("/a.ts?x=1&token=2&y=3", {}), "/a.ts?x=1&token=2&y=3");
}

TEST(HopByHop, FixedSetAndNamesListedInConnection) {
  for (const char* h : {"Connection", "connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate",
                        "Proxy-Authorization", "TE", "te", "Trailer", "Transfer-Encoding", "UPGRADE"})
    EXPECT_TRUE(is_hop_by_hop(h)) << h;
  for (const char* h : {"Content-Length", "Content-Type", "ETag", "Cache-Control", "Age", "Trailers", "T"})
    EXPECT_FALSE(is_hop_by_hop(h)) << h;
  EXPECT_TRUE(is_hop_by_hop("X-Session", "close, X-Session"));
  EXPECT_TRUE(is_hop_by_hop("x-session", " X-Session ,X-Other"));
  EXPECT_TRUE(is_hop_by_hop("X-Other", " X-Session ,X-Other"));
  EXPECT_FALSE(is_hop_by_hop("X-Sess", "X-Session"));
  EXPECT_FALSE(is_hop_by_hop("X-Session", "keep-alive"));
  EXPECT_FALSE(is_hop_by_hop("X-Session", ""));
}

TEST(Glob, EdgeCases) {
  EXPECT_TRUE(glob_match("", ""));
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_TRUE(glob_match("**", ""));
  EXPECT_TRUE(glob_match("*", "/any/thing.ts"));
  EXPECT_FALSE(glob_match("", "a"));
  EXPECT_FALSE(glob_match("a", ""));
  EXPECT_TRUE(glob_match("abc", "abc"));
  EXPECT_FALSE(glob_match("abc", "abcd"));  // whole string, not a prefix
  EXPECT_FALSE(glob_match("abc", "ab"));
  EXPECT_FALSE(glob_match("abc", "ABC"));    // case-sensitive
  EXPECT_TRUE(glob_match("a*", "a"));
  EXPECT_TRUE(glob_match("*.ts", "/live/seg_1.ts"));
  EXPECT_FALSE(glob_match("*.ts", "/live/seg_1.ts.bak"));
  EXPECT_FALSE(glob_match("*.ts", "/live/seg_1.m3u8"));
  EXPECT_TRUE(glob_match("/live/*/seg_*.ts", "/live/s1/seg_42.ts"));
  EXPECT_TRUE(glob_match("/live/*/seg_*.ts", "/live/s1/hd/seg_42.ts"));  // '*' crosses '/'
  EXPECT_FALSE(glob_match("/live/*/seg_*.ts", "/vod/s1/seg_42.ts"));
  EXPECT_TRUE(glob_match("a*b*c", "aXbYbZc"));
  EXPECT_FALSE(glob_match("a*b*c", "aXbYbZ"));
  EXPECT_TRUE(glob_match("*ab", "aab"));     // backtracking
  EXPECT_TRUE(glob_match("*aab", "aaab"));
  EXPECT_TRUE(glob_match("*a*", "bab"));
  EXPECT_FALSE(glob_match("*a*", "bbb"));
  EXPECT_TRUE(glob_match("a**b", "ab"));
  EXPECT_TRUE(glob_match("?", "?"));         // only '*' is special
  EXPECT_FALSE(glob_match("?", "x"));
}

}  // namespace
}  // namespace hlscache
