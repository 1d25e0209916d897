// Freshness (src/cache/freshness.*): what a shared cache may store (RFC 9111 §3),
// for how long (§4.2.1, the HLS rules as heuristics §4.2.2), how old it is on
// arrival (§4.2.3), when it may be served stale (§4.2.4), the directives (§5.2,
// §5.3) and targeted fields (RFC 9213) — one test per rule, named after it — plus
// the cache key and glob helpers. Pure functions: no clock.
#include <gtest/gtest.h>

#include "cache/cache_key.hpp"
#include "cache/freshness.hpp"
#include "cache/media.hpp"
#include "core/strings.hpp"

namespace hlscache {
namespace {

using namespace std::chrono_literals;

constexpr std::time_t kNow = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT: "now" on our clock
constexpr const char* kDateNow = "Sun, 06 Nov 1994 08:49:37 GMT";

FreshnessConfig defaults() { return FreshnessConfig{}; }

struct Req {
  std::string_view path = "/live/s/seg_1.ts";
  std::string_view body = {};
  bool authorization = false;
  Duration delay{0};
  std::time_t received = kNow;
  bool ahead_of_live = false;
};

FreshnessDecision decide(int status, std::vector<Header> headers, Req r = {}, const FreshnessConfig& cfg = defaults()) {
  return decide_freshness(
      ResponseFacts{status, &headers, r.path, r.body, r.authorization, r.received, r.delay, r.ahead_of_live}, cfg);
}
FreshnessDecision with_cc(std::string cc, Req r = {}) { return decide(200, {{"Cache-Control", std::move(cc)}}, r); }

constexpr std::string_view kLive =
    "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:6\n#EXT-X-MEDIA-SEQUENCE:1042\n"
    "#EXTINF:6.000,\nseg_1042.ts\n#EXTINF:6.000,\nseg_1043.ts\n";
constexpr std::string_view kEnded = "#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6.000,\nseg_0.ts\n#EXT-X-ENDLIST\n";

// ---------------------------------------------------------------- §3 storing

TEST(Freshness, Rfc9111_3_NoStoreAndPrivateAreNeverStored) {
  for (std::string cc : {"no-store", "private", "max-age=60, no-store", "public, Private", "NO-STORE",
                         "s-maxage=10,private"}) {
    SCOPED_TRACE(cc);
    auto d = with_cc(cc);
    EXPECT_FALSE(d.storable);
    EXPECT_FALSE(d.store);
  }
  EXPECT_FALSE(decide(404, {{"Cache-Control", "no-store"}}).storable);  // not even negatively
  // On a later field line too (§5.2: the directives of every line).
  EXPECT_FALSE(decide(200, {{"Cache-Control", "max-age=60"}, {"Cache-Control", "no-store"}}).storable);
}

TEST(Freshness, Rfc9111_3_FinalStatusesOnly_NotPartialNot304) {
  for (int status : {100, 103, 206, 304}) {
    SCOPED_TRACE(status);
    EXPECT_FALSE(decide(status, {{"Cache-Control", "max-age=60"}}).storable);
  }
}

TEST(Freshness, Rfc9111_3_WithoutExplicitFreshnessOnlyHeuristicallyCacheableStatuses) {
  // §3: explicit freshness or a status defined as heuristically cacheable (or public).
  for (int status : {302, 303, 307, 400, 403, 500, 502, 503}) {
    SCOPED_TRACE(status);
    EXPECT_FALSE(decide(status, {}).storable);
    auto d = decide(status, {{"Cache-Control", "max-age=60"}});  // explicit: any final status
    EXPECT_TRUE(d.storable);
    EXPECT_EQ(d.ttl, 60s);
    // public makes it storable, but it gives no lifetime, and we guess none for these: not kept.
    d = decide(status, {{"Cache-Control", "public"}}, {.path = "/live/s/seg_1.ts"});
    EXPECT_TRUE(d.storable);
    EXPECT_FALSE(d.store);
    EXPECT_EQ(d.ttl, Duration::zero());
  }
  // Heuristically cacheable statuses other than 200/203 and 404/410 get no HLS lifetime either.
  for (int status : {204, 300, 301, 308, 405, 414, 501}) {
    SCOPED_TRACE(status);
    auto d = decide(status, {});
    EXPECT_TRUE(d.storable);
    EXPECT_FALSE(d.store);
  }
  for (int status : {200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501}) {
    SCOPED_TRACE(status);
    EXPECT_TRUE(decide(status, {}).storable);
  }
}

TEST(Freshness, Rfc9111_3_5_AuthorizationNeedsPublicSMaxageOrMustRevalidate) {
  Req auth;
  auth.authorization = true;
  EXPECT_FALSE(with_cc("max-age=60", auth).storable);
  EXPECT_STREQ(with_cc("max-age=60", auth).reason, "authorization");
  EXPECT_FALSE(decide(200, {}, auth).storable);
  EXPECT_TRUE(with_cc("public", auth).storable);
  EXPECT_TRUE(with_cc("s-maxage=10", auth).storable);
  EXPECT_TRUE(with_cc("max-age=10, must-revalidate", auth).storable);
  EXPECT_TRUE(with_cc("max-age=60").storable);  // without Authorization: fine
}

TEST(Freshness, Rfc9111_5_2_2_3_MustUnderstandOverridesNoStoreForKnownStatuses) {
  EXPECT_TRUE(decide(200, {{"Cache-Control", "must-understand, no-store, max-age=60"}}).storable);
  EXPECT_FALSE(decide(299, {{"Cache-Control", "must-understand, no-store, max-age=60"}}).storable);
  EXPECT_FALSE(decide(299, {{"Cache-Control", "must-understand, max-age=60"}}).storable);
}

TEST(Freshness, Rfc9111_5_2_2_4_NoCacheIsStoredOnlyToRevalidate) {
  auto d = decide(200, {{"Cache-Control", "no-cache, max-age=60"}, {"ETag", "\"v1\""}});
  EXPECT_TRUE(d.storable);
  EXPECT_TRUE(d.store);
  EXPECT_TRUE(d.revalidate_always);
  EXPECT_EQ(d.ttl, Duration::zero());     // never fresh: validated before each use
  EXPECT_EQ(d.grace, Duration::zero());   // never served stale (§4.2.4)
  EXPECT_EQ(d.keep, defaults().revalidate_keep);
  // Without a validator there is nothing to revalidate with: not shared, not stored.
  EXPECT_FALSE(with_cc("no-cache").storable);
  EXPECT_FALSE(with_cc("NO-CACHE, max-age=60").storable);
}

TEST(Freshness, Rfc9111_5_2_2_4_And_5_2_2_7_QualifiedFormsStripFieldsOnly) {
  auto d = decide(200, {{"Cache-Control", R"(max-age=60, no-cache="X-Token", private="X-User, X-Plan")"}});
  EXPECT_TRUE(d.storable);
  EXPECT_EQ(d.ttl, 60s);
  EXPECT_FALSE(d.revalidate_always);
  EXPECT_EQ(d.strip, (std::vector<std::string>{"X-Token", "X-User", "X-Plan"}));
}

TEST(Freshness, SetCookieIsPerViewerUnlessExplicitlyPublic) {
  auto d = decide(200, {{"Set-Cookie", "id=alice"}, {"Cache-Control", "max-age=60"}});
  EXPECT_FALSE(d.storable);
  EXPECT_STREQ(d.reason, "set-cookie");
  for (std::string cc : {"public, max-age=60", "s-maxage=60"}) {
    d = decide(200, {{"Set-Cookie", "id=alice"}, {"Cache-Control", cc}});
    EXPECT_TRUE(d.storable) << cc;
    EXPECT_EQ(d.strip, (std::vector<std::string>{"Set-Cookie"})) << cc;  // stored without the cookie
  }
}

TEST(Freshness, Rfc9111_4_1_VaryNamesAreRecordedAndStarIsNeverStored) {
  auto d = decide(200, {{"Vary", "Accept-Language, X-Tier"}, {"vary", "accept-language,Origin"}});
  EXPECT_TRUE(d.storable);
  EXPECT_EQ(d.vary, (std::vector<std::string>{"accept-language", "x-tier", "origin"}));
  d = decide(200, {{"Vary", "Accept-Encoding, *"}});
  EXPECT_FALSE(d.storable);
  EXPECT_TRUE(d.vary.empty());
  EXPECT_TRUE(decide(200, {{"Vary", ""}}).vary.empty());
}

// ---------------------------------------------------------------- §4.2.1 lifetime

TEST(Freshness, Rfc9111_4_2_1_SMaxageThenMaxAgeThenExpires) {
  const Header date{"Date", kDateNow};
  const Header expires{"Expires", "Sun, 06 Nov 1994 08:54:37 GMT"};  // Date + 300 s
  auto d = decide(200, {{"Cache-Control", "max-age=60, s-maxage=30"}, date, expires});
  EXPECT_EQ(d.ttl, 30s);
  EXPECT_STREQ(d.reason, "s-maxage");
  d = decide(200, {{"Cache-Control", "public, max-age=60"}, date, expires});
  EXPECT_EQ(d.ttl, 60s);
  EXPECT_STREQ(d.reason, "max-age");
  d = decide(200, {{"cache-control", "max-age=\"45\""}, date});  // the quoted form, any name case
  EXPECT_EQ(d.ttl, 45s);
  d = decide(200, {date, expires});
  EXPECT_EQ(d.ttl, 300s);
  EXPECT_STREQ(d.reason, "expires");
  EXPECT_FALSE(d.heuristic);
  d = decide(200, {{"Date", "Sunday, 06-Nov-94 08:49:37 GMT"}, {"Expires", "Sun Nov  6 08:50:37 1994"}});
  EXPECT_EQ(d.ttl, 60s);  // RFC 850 and asctime dates
  FreshnessConfig cfg;
  cfg.rules = {{"*", 7000ms}};
  EXPECT_EQ(decide(200, {date, expires}, {}, cfg).ttl, 300s);  // explicit beats our heuristics
}

TEST(Freshness, Rfc9111_4_2_1_SecondCacheControlLineIsRead) {
  auto d = decide(200, {{"Cache-Control", "public"}, {"Cache-Control", "s-maxage=20"}, {"Date", kDateNow}});
  EXPECT_EQ(d.ttl, 20s);
  EXPECT_STREQ(d.reason, "s-maxage");
}

TEST(Freshness, Rfc9111_4_2_1_ConflictingDirectiveValuesMeanStale) {
  auto d = decide(200, {{"Cache-Control", "max-age=60"}, {"Cache-Control", "max-age=30"}});
  EXPECT_TRUE(d.storable);
  EXPECT_EQ(d.ttl, Duration::zero());
  // Only lifetimes conflict: two stale-while-revalidate values leave max-age alone.
  d = decide(200, {{"Cache-Control", "max-age=60, stale-while-revalidate=5, stale-while-revalidate=9"}});
  EXPECT_EQ(d.ttl, 60s);
}

TEST(Freshness, FieldsToStripAndPersonalAnswersAreKnownEvenWhenRefused) {
  auto d = decide(500, {{"Cache-Control", "private"}, {"Set-Cookie", "a=1"}});
  EXPECT_FALSE(d.storable);
  EXPECT_TRUE(d.personal);
  EXPECT_EQ(d.strip, (std::vector<std::string>{"Set-Cookie"}));
  d = decide(503, {{"Set-Cookie", "AWSALB=x"}});
  EXPECT_FALSE(d.personal);
  EXPECT_EQ(d.strip, (std::vector<std::string>{"Set-Cookie"}));
  d = decide(200, {{"Cache-Control", "max-age=60"}}, {.authorization = true});
  EXPECT_TRUE(d.personal);
  EXPECT_TRUE(d.request_specific);
}

TEST(Freshness, Rfc9111_5_3_InvalidOrRepeatedExpiresMeansAlreadyExpired) {
  const Header date{"Date", kDateNow};
  for (std::string e : {"0", "garbage", "Sun, 06 Nov 1994  08:54:37 GMT", "Sun, 06 Nov 1994 8:54:37 GMT",
                        "Sun, 06 Nov 1994 08:49:37 GMT", "Sat, 05 Nov 1994 08:49:37 GMT"}) {
    SCOPED_TRACE(e);
    auto d = decide(200, {date, {"Expires", e}});
    EXPECT_EQ(d.ttl, Duration::zero());
    EXPECT_STREQ(d.reason, "expires");
    EXPECT_FALSE(d.heuristic);  // not replaced by the segment default
  }
  auto d = decide(200, {date, {"Expires", "Sun, 06 Nov 1994 08:54:37 GMT"}, {"Expires", "Sun, 06 Nov 1994 08:54:37 GMT"}});
  EXPECT_EQ(d.ttl, Duration::zero());  // two lines: stale (§4.2.1)
}

TEST(Freshness, Rfc9111_5_3_ExpiresIsIgnoredWhenMaxAgeOrSMaxageIsThere) {
  const Header date{"Date", kDateNow};
  EXPECT_EQ(decide(200, {date, {"Expires", "0"}, {"Cache-Control", "max-age=60"}}).ttl, 60s);
  EXPECT_EQ(decide(200, {date, {"Expires", "0"}, {"Cache-Control", "s-maxage=30"}}).ttl, 30s);
}

TEST(Freshness, Rfc9111_4_2_1_ExpiresWithoutDateCountsFromReceipt) {
  auto d = decide(200, {{"Expires", "Sun, 06 Nov 1994 08:50:37 GMT"}});
  EXPECT_EQ(d.ttl, 60s);
}

// ---------------------------------------------------------------- §4.2.2 heuristics (ours)

TEST(Freshness, Rfc9111_4_2_2_HlsHeuristicsApplyOnlyWithoutExplicitFreshness) {
  auto d = decide(200, {});
  EXPECT_TRUE(d.heuristic);
  EXPECT_EQ(d.ttl, defaults().segment_ttl);
  EXPECT_STREQ(d.reason, "segment");
  d = decide(200, {}, {.path = "/live/s/index.m3u8", .body = kLive});  // 6 x 0.5
  EXPECT_EQ(d.ttl, 3s);
  EXPECT_STREQ(d.reason, "live playlist: target duration");
  d = decide(200, {{"Content-Type", "application/x-mpegURL"}}, {.path = "/live/s/playlist", .body = kLive});
  EXPECT_EQ(d.ttl, 3s);  // a playlist by its media type
  d = decide(200, {}, {.path = "/live/s/index.m3u8", .body = "#EXTM3U\n#EXTINF:6.0,\nseg_1.ts\n"});
  EXPECT_EQ(d.ttl, defaults().playlist_ttl_default);
  d = decide(200, {}, {.path = "/vod/s/index.m3u8", .body = kEnded});
  EXPECT_EQ(d.ttl, defaults().segment_ttl);
  EXPECT_STREQ(d.reason, "ended playlist");
  EXPECT_EQ(decide(200, {}, {.path = "/robots.txt"}).ttl, defaults().segment_ttl);
  for (int status : {404, 410}) {
    d = decide(status, {});
    EXPECT_EQ(d.ttl, 1s) << status;
    EXPECT_EQ(d.grace, Duration::zero()) << status;  // a "not found" is never served stale
    EXPECT_STREQ(d.reason, "negative");
  }
  FreshnessConfig cfg;
  cfg.negative_ttl = 0ms;
  EXPECT_FALSE(decide(404, {}, {}, cfg).store);
  EXPECT_EQ(decide(200, {{"Cache-Control", "max-age=2"}}, {.path = "/live/s/index.m3u8", .body = kLive}).ttl, 2s);
}

TEST(Freshness, NotFoundAheadOfTheLiveEdgeIsSharedNeverKept) {
  FreshnessConfig cfg;
  cfg.negative_ttl = 30s;
  for (int status : {404, 410}) {
    for (auto headers : {std::vector<Header>{}, std::vector<Header>{{"Cache-Control", "max-age=60"}},
                         std::vector<Header>{{"Cache-Control", "max-age=60, stale-while-revalidate=60"},
                                             {"ETag", "\"a\""}}}) {
      const auto d = decide(status, headers, {.ahead_of_live = true}, cfg);
      EXPECT_TRUE(d.storable) << status;  // the requests that waited for it share it
      EXPECT_FALSE(d.store) << status;
      EXPECT_EQ(d.ttl, Duration::zero());
      EXPECT_EQ(d.grace, Duration::zero());
      EXPECT_EQ(d.keep, Duration::zero());
      EXPECT_STREQ(d.reason, "not found ahead of the live edge");
    }
    EXPECT_EQ(decide(status, {}, {}, cfg).ttl, 30s) << "a segment not ahead keeps the negative TTL";
  }
  EXPECT_EQ(decide(200, {}, {.ahead_of_live = true}).ttl, defaults().segment_ttl) << "only negative answers";
}

TEST(Freshness, Rfc9111_4_2_2_PathRulesFirstMatchWins) {
  FreshnessConfig cfg;
  cfg.rules = {{"/live/*/master.m3u8", 5000ms}, {"/live/*", 7000ms}, {"*.ts", 9000ms}};
  auto d = decide(200, {}, {.path = "/live/s1/master.m3u8", .body = kLive}, cfg);
  EXPECT_EQ(d.ttl, 5s);
  EXPECT_STREQ(d.reason, "rule");
  EXPECT_EQ(decide(200, {}, {.path = "/live/s1/seg_1.ts"}, cfg).ttl, 7s);
  EXPECT_EQ(decide(200, {}, {.path = "/vod/a/seg_1.ts"}, cfg).ttl, 9s);
  EXPECT_EQ(decide(200, {}, {.path = "/vod/a/index.m3u8", .body = kLive}, cfg).ttl, 3s);
}

// ---------------------------------------------------------------- §4.2.3 age

TEST(Freshness, Rfc9111_4_2_3_AgeAndResponseDelayAreSubtracted) {
  auto d = decide(200, {{"Cache-Control", "max-age=60"}, {"Age", "20"}, {"Date", kDateNow}});
  EXPECT_EQ(d.initial_age, 20s);
  EXPECT_EQ(d.ttl, 40s);
  d = decide(200, {{"Cache-Control", "max-age=60"}, {"Age", "20"}}, {.delay = 1500ms});
  EXPECT_EQ(d.initial_age, 21500ms);  // corrected_age_value = Age + response_delay
  d = decide(200, {{"Cache-Control", "max-age=60"}, {"Age", "90"}});
  EXPECT_EQ(d.ttl, Duration::zero());  // never negative
  EXPECT_TRUE(d.store);                // servable stale within the grace
  d = decide(200, {{"Cache-Control", "max-age=60"}, {"Age", "bogus"}});
  EXPECT_EQ(d.initial_age, 0s);
  d = decide(200, {{"Cache-Control", "max-age=60"}, {"Age", "99999999999999999999"}});
  EXPECT_EQ(d.initial_age, 2147483648s);  // capped at 2^31 (§1.2.2), not ignored
  EXPECT_EQ(d.ttl, Duration::zero());
  d = decide(200, {{"Age", "100"}});  // our heuristics count age too
  EXPECT_EQ(d.ttl, defaults().segment_ttl - 100s);
}

TEST(Freshness, Rfc9111_4_2_3_ApparentAgeFromDateWins_WhenLarger) {
  // The origin's Date is 30 s behind our receipt: apparent_age 30 s > Age 5 s.
  auto d = decide(200, {{"Cache-Control", "max-age=60"}, {"Age", "5"}, {"Date", "Sun, 06 Nov 1994 08:49:07 GMT"}});
  EXPECT_EQ(d.initial_age, 30s);
  EXPECT_EQ(d.ttl, 30s);
  // A Date in the future (a clock ahead of ours) is no negative age.
  d = decide(200, {{"Cache-Control", "max-age=60"}, {"Date", "Sun, 06 Nov 1994 08:59:37 GMT"}});
  EXPECT_EQ(d.initial_age, 0s);
}

// ---------------------------------------------------------------- §4.2.4 stale

TEST(Freshness, Rfc9111_4_2_4_NoStaleUseWhereADirectiveForbidsIt) {
  EXPECT_EQ(with_cc("max-age=10").grace, 10s);  // the operator's grace (freshness.stale_grace)
  for (std::string cc : {"max-age=10, must-revalidate", "max-age=10, proxy-revalidate", "s-maxage=10",
                         "max-age=10, must-revalidate, stale-while-revalidate=30"}) {
    SCOPED_TRACE(cc);
    EXPECT_EQ(with_cc(cc).grace, Duration::zero());
  }
  EXPECT_EQ(with_cc("max-age=10, stale-while-revalidate=30").grace, 30s);  // RFC 5861
  EXPECT_EQ(with_cc("max-age=10, stale-if-error=60").grace, 60s);
  EXPECT_EQ(with_cc("max-age=10, stale-while-revalidate=2").grace, 10s);
  EXPECT_FALSE(with_cc("max-age=0, must-revalidate").store);  // stale at once, no validator: nothing to keep
  EXPECT_TRUE(decide(200, {{"Cache-Control", "max-age=0, must-revalidate"}, {"ETag", "\"a\""}}).store);  // to revalidate
}

// ---------------------------------------------------------------- RFC 9213

TEST(Freshness, Rfc9213_2_1_CdnCacheControlReplacesCacheControlAndExpires) {
  auto d = decide(200, {{"Cache-Control", "no-store"}, {"CDN-Cache-Control", "max-age=60"}});
  EXPECT_TRUE(d.storable);
  EXPECT_EQ(d.ttl, 60s);
  EXPECT_EQ(d.directives, "CDN-Cache-Control");
  d = decide(200, {{"Cache-Control", "max-age=600"}, {"CDN-Cache-Control", "private"}});
  EXPECT_FALSE(d.storable);
  d = decide(200, {{"Cache-Control", "max-age=600"}, {"CDN-Cache-Control", "no-store"}});
  EXPECT_FALSE(d.storable);
  d = decide(200, {{"Cache-Control", "max-age=600"}, {"CDN-Cache-Control", "no-cache"}, {"ETag", "\"x\""}});
  EXPECT_TRUE(d.revalidate_always);
  d = decide(200, {{"Expires", "0"}, {"Date", kDateNow}, {"CDN-Cache-Control", "must-revalidate"}});
  EXPECT_TRUE(d.heuristic);  // Expires ignored with a valid targeted field; no lifetime in it: ours
  EXPECT_EQ(d.grace, Duration::zero());
}

TEST(Freshness, Rfc9213_2_1_AnInvalidOrEmptyTargetedFieldFallsBackToCacheControl) {
  for (std::string bad : {"", "Max-Age=60", "max-age=60,", "max-age=\"60"}) {
    SCOPED_TRACE(bad);
    auto d = decide(200, {{"Cache-Control", "max-age=5"}, {"CDN-Cache-Control", bad}});
    EXPECT_EQ(d.ttl, 5s);
    EXPECT_EQ(d.directives, "Cache-Control");
  }
}

TEST(Freshness, Rfc9213_2_1_TheTargetListIsOrderedAndConfigurable) {
  FreshnessConfig cfg;
  cfg.targeted_fields = {"Hlscache-Cache-Control", "CDN-Cache-Control"};
  auto d = decide(200, {{"CDN-Cache-Control", "max-age=60"}, {"Hlscache-Cache-Control", "max-age=7"}}, {}, cfg);
  EXPECT_EQ(d.ttl, 7s);
  cfg.targeted_fields.clear();  // targeted fields off: Cache-Control rules
  d = decide(200, {{"CDN-Cache-Control", "no-store"}, {"Cache-Control", "max-age=9"}}, {}, cfg);
  EXPECT_EQ(d.ttl, 9s);
}

// ---------------------------------------------------------------- helpers

TEST(Freshness, PlaylistTargetDurationAndEndlist) {
  EXPECT_EQ(playlist_target_duration(kLive), 6.0);
  EXPECT_EQ(playlist_target_duration("#EXTM3U\r\n#EXT-X-TARGETDURATION:4\r\n"), 4.0);
  EXPECT_EQ(playlist_target_duration("#EXT-X-TARGETDURATION: 2 \n"), 2.0);
  EXPECT_EQ(playlist_target_duration("#EXT-X-TARGETDURATION:6.5"), 6.5);
  EXPECT_EQ(playlist_target_duration("#EXTM3U\n"), std::nullopt);
  EXPECT_EQ(playlist_target_duration("#EXT-X-TARGETDURATION:0\n"), std::nullopt);
  EXPECT_EQ(playlist_target_duration("#EXT-X-TARGETDURATION:-3\n"), std::nullopt);
  EXPECT_EQ(playlist_target_duration("#EXT-X-TARGETDURATION:six\n"), std::nullopt);
  EXPECT_TRUE(playlist_has_endlist(kEnded));
  EXPECT_FALSE(playlist_has_endlist(kLive));
}

TEST(Freshness, MediaKind) {
  EXPECT_EQ(media_kind("/a/index.m3u8", ""), MediaKind::playlist);
  EXPECT_EQ(media_kind("/a/INDEX.M3U8", ""), MediaKind::playlist);
  EXPECT_EQ(media_kind("/a/x", "application/x-mpegURL"), MediaKind::playlist);
  for (const char* p : {"/a.m4s", "/a.mp4", "/a.aac", "/a.vtt", "/a.key", "/a.TS"})
    EXPECT_EQ(media_kind(p, ""), MediaKind::segment) << p;
  EXPECT_EQ(media_kind("/a/tsx", ""), MediaKind::other);
}

TEST(CacheKey, DropsConfiguredParametersAndKeepsOrder) {
  const std::vector<std::string> ignore{"token", "sig"};
  EXPECT_EQ(normalize_cache_key("/a.ts?x=1&token=2&y=3", ignore), "/a.ts?x=1&y=3");
  EXPECT_EQ(normalize_cache_key("/a.ts?b=2&a=1", ignore), "/a.ts?b=2&a=1");  // not sorted
  EXPECT_EQ(normalize_cache_key("/a.ts?token=2", ignore), "/a.ts");
  EXPECT_EQ(normalize_cache_key("/a.ts?x=2&sig", ignore), "/a.ts?x=2");
  EXPECT_EQ(normalize_cache_key("/a.ts?tokenx=1&Token=2", ignore), "/a.ts?tokenx=1&Token=2");
  EXPECT_EQ(normalize_cache_key("/a.ts?", ignore), "/a.ts");
  EXPECT_EQ(normalize_cache_key("/a.ts?x=1&&y=2&", ignore), "/a.ts?x=1&y=2");
}

TEST(Glob, EdgeCases) {
  EXPECT_TRUE(glob_match("", ""));
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_FALSE(glob_match("", "a"));
  EXPECT_FALSE(glob_match("abc", "abcd"));
  EXPECT_FALSE(glob_match("abc", "ABC"));
  EXPECT_TRUE(glob_match("/live/*/seg_*.ts", "/live/s1/hd/seg_42.ts"));
  EXPECT_FALSE(glob_match("/live/*/seg_*.ts", "/vod/s1/seg_42.ts"));
  EXPECT_TRUE(glob_match("*aab", "aaab"));
  EXPECT_FALSE(glob_match("*a*", "bbb"));
  EXPECT_FALSE(glob_match("?", "x"));
}

}  // namespace
}  // namespace hlscache
