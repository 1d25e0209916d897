// Freshness through the real edge daemon (cache/freshness.hpp, docs/design.md "The life of a
// request" steps 5-6): live playlists live for playlist_ttl_fraction x TARGETDURATION,
// ENDLIST playlists like segments; Cache-Control no-store and max-age are obeyed; hits
// carry Age; past expiry but within stale_grace the stale copy is served at once while
// exactly one background refresh runs, and a failing refresh keeps the stale copy.
// Timing margins: the 1 s TTLs are checked at ~0.3 s and again at >= 1.3 s.
#include <gtest/gtest.h>

#include <regex>

#include "core/http_fields.hpp"
#include "edge_test_util.hpp"

namespace hlscache::test {
namespace {

using EdgeFreshnessTest = EdgeTest;
using Clock = std::chrono::steady_clock;

std::string live_playlist(int media_sequence) {
  std::string s = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:" +
                  std::to_string(media_sequence) + "\n";
  for (int i = 0; i < 3; ++i)
    s += "#EXTINF:2.000,\nseg_" + std::to_string(media_sequence + i) + ".ts\n";
  return s;
}

OriginReply reply_with(std::string body, std::vector<std::pair<std::string, std::string>> headers) {
  OriginReply r;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

TEST_F(EdgeFreshnessTest, LivePlaylistIsFreshForHalfItsTargetDurationThenRefreshed) {
  const std::string path = "/live/stream1/index.m3u8";
  const std::string v1 = live_playlist(100), v2 = live_playlist(101);
  origin_.set(path, reply_with(v1, {{"Content-Type", "application/vnd.apple.mpegurl"}}));
  start(EdgeYaml().with_freshness("stale_wait: 0s"));  // classic stale-while-revalidate

  auto first = get(path);
  const auto t0 = Clock::now();
  ASSERT_TRUE(first.ok()) << first.describe();
  EXPECT_EQ(first.header("X-Cache").value_or(""), "MISS");
  EXPECT_EQ(first.body, v1);
  origin_.set(path, reply_with(v2, {{"Content-Type", "application/vnd.apple.mpegurl"}}));

  std::this_thread::sleep_for(300ms);
  auto hit = get(path);
  ASSERT_TRUE(hit.ok()) << hit.describe();
  ASSERT_LT(ms_between(t0, Clock::now()), 900) << "too slow to check inside the 1 s TTL";
  EXPECT_EQ(hit.header("X-Cache").value_or(""), "HIT") << hit.describe();
  EXPECT_EQ(hit.body, v1);
  EXPECT_LE(cache_status_ttl(hit).value_or(99), 1) << hit.header("Cache-Status").value_or("");
  EXPECT_EQ(origin_.requests(path), 1u);

  // Past TARGETDURATION/2 = 1 s: the copy is stale (served within grace) and refreshed upstream.
  std::this_thread::sleep_until(t0 + 1300ms);
  auto stale = get(path);
  ASSERT_TRUE(stale.ok()) << stale.describe();
  EXPECT_EQ(stale.header("X-Cache").value_or(""), "STALE") << stale.describe();
  ASSERT_TRUE(origin_.wait_for_requests(path, 2, 3s)) << "no refresh after the playlist's TTL";
  ASSERT_TRUE(wait_metric(port_, "hlscache_coalesce_inflight", "", [](double v) { return v == 0; }, 3s));
  auto fresh = get(path);
  ASSERT_TRUE(fresh.ok()) << fresh.describe();
  EXPECT_EQ(fresh.header("X-Cache").value_or(""), "HIT") << fresh.describe();
  EXPECT_EQ(fresh.body, v2) << "the refresh did not replace the stored playlist";
  EXPECT_EQ(origin_.requests(path), 2u);
}

TEST_F(EdgeFreshnessTest, EndedPlaylistIsCachedLikeASegment) {
  const std::string path = "/vod/movie/index.m3u8";
  const std::string vod = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXTINF:2.0,\nseg_0.ts\n"
                          "#EXT-X-ENDLIST\n";
  origin_.set(path, reply_with(vod, {{"Content-Type", "application/vnd.apple.mpegurl"}}));
  start();

  auto first = get(path);
  ASSERT_TRUE(first.ok()) << first.describe();
  std::this_thread::sleep_for(1300ms);  // past what a live playlist with this TARGETDURATION would get
  auto hit = get(path);
  ASSERT_TRUE(hit.ok()) << hit.describe();
  EXPECT_EQ(hit.header("X-Cache").value_or(""), "HIT") << hit.describe();
  EXPECT_EQ(hit.body, vod);
  EXPECT_GT(cache_status_ttl(hit).value_or(0), 3600) << hit.header("Cache-Status").value_or("");
  EXPECT_EQ(origin_.requests(path), 1u);
}

TEST_F(EdgeFreshnessTest, NoStoreIsNeverCached) {
  const std::string path = "/live/nostore.ts";
  origin_.set(path, reply_with("private bytes", {{"Content-Type", "video/mp2t"}, {"Cache-Control", "no-store"}}));
  start();
  for (int i = 0; i < 3; ++i) {
    auto r = get(path);
    ASSERT_TRUE(r.ok()) << r.describe();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "private bytes");
    EXPECT_EQ(r.header("X-Cache").value_or(""), "MISS") << r.describe();
  }
  EXPECT_EQ(origin_.requests(path), 3u);
}

TEST_F(EdgeFreshnessTest, PrivateAndNoCacheWithoutValidatorAreNotStored) {
  origin_.set("/n/private.ts", reply_with("p", {{"Content-Type", "video/mp2t"}, {"Cache-Control", "private, max-age=60"}}));
  origin_.set("/n/nocache.ts", reply_with("n", {{"Content-Type", "video/mp2t"}, {"Cache-Control", "no-cache"}}));
  start();
  for (const char* p : {"/n/private.ts", "/n/nocache.ts"}) {
    for (int i = 0; i < 2; ++i) {
      auto r = get(p);
      ASSERT_TRUE(r.ok()) << p << ": " << r.describe();
      EXPECT_EQ(r.status, 200);
    }
  }
  EXPECT_EQ(origin_.requests("/n/private.ts"), 2u);
  EXPECT_EQ(origin_.requests("/n/nocache.ts"), 2u);
}

// RFC 9111 §4.1: a response that varies is stored per combination of the Vary'd
// request fields, and served only to requests whose fields match.
TEST_F(EdgeFreshnessTest, VaryStoresOneVariantPerRequestFieldValue) {
  origin_.set_handler([](const OriginRequest& req) -> std::optional<OriginReply> {
    if (req.path() != "/n/vary.ts") return std::nullopt;
    return reply_with("for " + req.header("X-Tier").value_or("none"),
                      {{"Content-Type", "video/mp2t"}, {"Vary", "X-Tier"}, {"Cache-Control", "max-age=60"}});
  });
  // Vary: Accept-Encoding alone: Accept-Encoding is not forwarded upstream (the edge makes
  // the gzip variant itself), so every request matches the one stored variant.
  origin_.set("/n/vary_ae.ts", reply_with("a", {{"Content-Type", "video/mp2t"}, {"Vary", "Accept-Encoding"}}));
  start();
  for (std::string tier : {"gold", "silver", "gold", "silver", ""}) {
    std::vector<std::pair<std::string, std::string>> h;
    if (!tier.empty()) h.emplace_back("X-Tier", tier);
    auto r = get("/n/vary.ts", h);
    ASSERT_TRUE(r.ok()) << r.describe();
    EXPECT_EQ(r.body, "for " + (tier.empty() ? std::string("none") : tier));
  }
  EXPECT_EQ(origin_.requests("/n/vary.ts"), 3u);  // gold, silver, none; the repeats were hits
  auto again = get("/n/vary.ts", {{"X-Tier", "gold"}});
  EXPECT_EQ(again.header("X-Cache").value_or(""), "HIT") << again.describe();
  EXPECT_EQ(again.body, "for gold");
  for (const char* ae : {"gzip", "br", "identity"}) ASSERT_TRUE(get("/n/vary_ae.ts", {{"Accept-Encoding", ae}}).ok());
  EXPECT_EQ(origin_.requests("/n/vary_ae.ts"), 1u);
}

TEST_F(EdgeFreshnessTest, SMaxAgeBeatsMaxAgeAndExpiresCountsFromDate) {
  const std::time_t now = std::time(nullptr);
  const std::string date = format_http_date(now), expires = format_http_date(now + 300);
  origin_.set("/t/s.ts", reply_with("s", {{"Content-Type", "video/mp2t"}, {"Cache-Control", "max-age=5, s-maxage=120"}}));
  origin_.set("/t/e.ts", reply_with("e", {{"Content-Type", "video/mp2t"}, {"Date", date}, {"Expires", expires}}));
  start();
  ASSERT_TRUE(get("/t/s.ts").ok());
  auto miss = get("/t/e.ts");
  ASSERT_TRUE(miss.ok()) << miss.describe();
  // The origin's Date is kept (RFC 9110 §6.6.1): one Date, the origin's; Age says how old.
  EXPECT_EQ(miss.header_count("Date"), 1u) << miss.describe();
  EXPECT_EQ(miss.header("Date").value_or(""), date);
  auto s = get("/t/s.ts");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s.header("X-Cache").value_or(""), "HIT");
  auto s_ttl = cache_status_ttl(s).value_or(-1);
  EXPECT_GE(s_ttl, 115) << s.header("Cache-Status").value_or("");  // a shared cache obeys s-maxage
  EXPECT_LE(s_ttl, 120);
  auto e = get("/t/e.ts");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e.header("X-Cache").value_or(""), "HIT");
  auto e_ttl = cache_status_ttl(e).value_or(-1);
  EXPECT_GE(e_ttl, 294) << e.header("Cache-Status").value_or("");  // Expires - Date = 300 s
  EXPECT_LE(e_ttl, 300);
  EXPECT_EQ(e.header_count("Date"), 1u) << e.describe();
  EXPECT_EQ(e.header("Date").value_or(""), date);  // stored, not rewritten
}

// RFC 9111 §4.2.3: a response whose Date is far behind our clock is that old on
// arrival (apparent age); one that says Age: 50 of max-age=60 has 10 s left.
TEST_F(EdgeFreshnessTest, AgeOnArrivalCountsAgainstFreshness) {
  const std::time_t now = std::time(nullptr);
  origin_.set("/t/old.ts", reply_with("o", {{"Content-Type", "video/mp2t"}, {"Date", format_http_date(now - 600)},
                                            {"Cache-Control", "max-age=300, must-revalidate"}}));
  origin_.set("/t/aged.ts", reply_with("a", {{"Content-Type", "video/mp2t"}, {"Age", "50"},
                                             {"Cache-Control", "max-age=60"}}));
  start();
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(get("/t/old.ts").ok());
  EXPECT_EQ(origin_.requests("/t/old.ts"), 2u) << "600 s old on arrival with max-age=300: stale at once";
  auto first = get("/t/aged.ts");
  EXPECT_EQ(first.header("Age").value_or(""), "50") << first.describe();  // the upstream's Age is passed on
  auto hit = get("/t/aged.ts");
  EXPECT_EQ(hit.header("X-Cache").value_or(""), "HIT") << hit.describe();
  const int age = std::stoi(hit.header("Age").value_or("0"));
  EXPECT_GE(age, 50);
  EXPECT_LE(age, 52);
  const auto ttl = cache_status_ttl(hit).value_or(-1);
  EXPECT_GE(ttl, 8);
  EXPECT_LE(ttl, 10);
}

TEST_F(EdgeFreshnessTest, PathRulesComeBeforeTheDefaults) {
  origin_.set("/r/ads/a1.ts", reply_with("ad", {{"Content-Type", "video/mp2t"}}));
  origin_.set("/r/main/m1.ts", reply_with("main", {{"Content-Type", "video/mp2t"}}));
  // The upstream's own Cache-Control still wins over a rule.
  origin_.set("/r/ads/a2.ts", reply_with("ad2", {{"Content-Type", "video/mp2t"}, {"Cache-Control", "max-age=60"}}));
  start(EdgeYaml().with_freshness("rules: [{pattern: \"/r/ads/*\", ttl: 500ms}], stale_grace: 0s"));
  for (const char* p : {"/r/ads/a1.ts", "/r/main/m1.ts", "/r/ads/a2.ts"}) ASSERT_TRUE(get(p).ok());
  const auto t0 = Clock::now();
  auto ad = get("/r/ads/a1.ts");
  ASSERT_TRUE(ad.ok());
  ASSERT_LT(ms_between(t0, Clock::now()), 400);
  EXPECT_EQ(ad.header("X-Cache").value_or(""), "HIT");

  std::this_thread::sleep_until(t0 + 800ms);
  auto ad_later = get("/r/ads/a1.ts");
  ASSERT_TRUE(ad_later.ok());
  EXPECT_EQ(ad_later.header("X-Cache").value_or(""), "MISS") << "the rule's 500 ms TTL (no grace) has passed";
  EXPECT_EQ(origin_.requests("/r/ads/a1.ts"), 2u);
  for (const char* p : {"/r/main/m1.ts", "/r/ads/a2.ts"}) {
    auto r = get(p);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.header("X-Cache").value_or(""), "HIT") << p;
    EXPECT_EQ(origin_.requests(p), 1u) << p;
  }
}

TEST_F(EdgeFreshnessTest, ObjectLargerThanAShardIsServedButNotStored) {
  // capacity 1 MiB in one S4LRU shard: an object may take at most a quarter of it.
  const std::string body = pattern_body(400 * 1024, 14);
  origin_.set("/big/seg.ts", reply_with(body, {{"Content-Type", "video/mp2t"}}));
  origin_.set("/big/small.ts", reply_with("small", {{"Content-Type", "video/mp2t"}}));
  start(EdgeYaml().with_cache("capacity: 1MiB, shards: 1, policy: s4lru"));
  for (int i = 1; i <= 2; ++i) {
    auto r = get("/big/seg.ts");
    ASSERT_TRUE(r.ok()) << r.describe();
    EXPECT_EQ(r.status, 200);
    EXPECT_TRUE(r.body == body);
    EXPECT_EQ(r.header("X-Cache").value_or(""), "MISS");
    EXPECT_EQ(origin_.requests("/big/seg.ts"), static_cast<std::size_t>(i));
  }
  EXPECT_GE(edge_metric(port_, "hlscache_cache_rejected_too_large_total", "policy=\"s4lru\"").value_or(0), 2);
  ASSERT_TRUE(get("/big/small.ts").ok());
  auto small = get("/big/small.ts");
  EXPECT_EQ(small.header("X-Cache").value_or(""), "HIT") << "small objects are still stored";
}

TEST_F(EdgeFreshnessTest, MaxAgeIsHonouredAndHitsCarryAge) {
  origin_.set("/v/short.ts", reply_with("short", {{"Content-Type", "video/mp2t"}, {"Cache-Control", "max-age=1"}}));
  origin_.set("/v/long.ts", reply_with("long", {{"Content-Type", "video/mp2t"}, {"Cache-Control", "max-age=60"}}));
  // The upstream's own Age counts against max-age (RFC 9111 §4.2.3).
  origin_.set("/v/aged.ts", reply_with("aged", {{"Content-Type", "video/mp2t"}, {"Cache-Control", "max-age=60"},
                                                {"Age", "20"}}));
  start();

  for (const char* p : {"/v/short.ts", "/v/long.ts", "/v/aged.ts"}) {
    auto r = get(p);
    ASSERT_TRUE(r.ok()) << r.describe();
    EXPECT_EQ(r.header("X-Cache").value_or(""), "MISS");
  }
  const auto t0 = Clock::now();

  auto long_hit = get("/v/long.ts");
  ASSERT_TRUE(long_hit.ok());
  EXPECT_EQ(long_hit.header("X-Cache").value_or(""), "HIT");
  ASSERT_TRUE(long_hit.header("Age").has_value()) << long_hit.describe();
  EXPECT_LE(std::stol(*long_hit.header("Age")), 1);
  auto ttl = cache_status_ttl(long_hit);
  ASSERT_TRUE(ttl.has_value()) << long_hit.header("Cache-Status").value_or("");
  EXPECT_GE(*ttl, 57);
  EXPECT_LE(*ttl, 60);

  auto aged = get("/v/aged.ts");
  ASSERT_TRUE(aged.ok());
  EXPECT_EQ(aged.header("X-Cache").value_or(""), "HIT");
  EXPECT_GE(std::stol(aged.header("Age").value_or("0")), 20) << aged.describe();
  EXPECT_LE(cache_status_ttl(aged).value_or(99), 40) << aged.header("Cache-Status").value_or("");

  auto short_hit = get("/v/short.ts");
  ASSERT_TRUE(short_hit.ok());
  ASSERT_LT(ms_between(t0, Clock::now()), 800) << "too slow to check inside max-age=1";
  EXPECT_EQ(short_hit.header("X-Cache").value_or(""), "HIT");
  EXPECT_EQ(origin_.requests("/v/short.ts"), 1u);

  // Age grows with time spent in the cache.
  std::this_thread::sleep_until(t0 + 1300ms);
  auto older = get("/v/long.ts");
  ASSERT_TRUE(older.ok());
  EXPECT_EQ(older.header("X-Cache").value_or(""), "HIT");
  EXPECT_GE(std::stol(older.header("Age").value_or("0")), 1) << older.describe();

  // max-age=1 has passed: no longer a fresh HIT, and the origin is asked again.
  auto expired = get("/v/short.ts");
  ASSERT_TRUE(expired.ok());
  EXPECT_NE(expired.header("X-Cache").value_or(""), "HIT") << expired.describe();
  EXPECT_TRUE(origin_.wait_for_requests("/v/short.ts", 2, 3s));
  EXPECT_EQ(origin_.requests("/v/long.ts"), 1u);
}

TEST_F(EdgeFreshnessTest, StaleWhileRevalidateServesAtOnceWithOneBackgroundRefresh) {
  const std::string path = "/live/swr.ts";
  origin_.set(path, reply_with("version 1", {{"Content-Type", "video/mp2t"}, {"Cache-Control", "max-age=1"}}));
  start(EdgeYaml().with_freshness("stale_grace: 10s"));
  auto first = get(path);
  ASSERT_TRUE(first.ok()) << first.describe();
  const auto t0 = Clock::now();

  // The refresh will be held at the origin: stale answers must not wait for it.
  auto v2 = reply_with("version 2", {{"Content-Type", "video/mp2t"}, {"Cache-Control", "max-age=60"}});
  v2.hold = "refresh";
  origin_.set(path, v2);
  std::this_thread::sleep_until(t0 + 1200ms);

  constexpr std::size_t kClients = 8;
  ClientHerd herd(port_, std::vector<std::string>(kClients, make_request("GET", path)),
                  ClientHerd::Options{.connect_timeout = 5s, .run_timeout = 10s, .keep_body = 64});
  ASSERT_TRUE(herd.connect_all());
  const auto sent = Clock::now();
  herd.start();
  ASSERT_TRUE(herd.wait_finished(2s)) << "stale answers waited for the held refresh";
  auto rs = herd.results();
  for (const auto& r : rs) {
    ASSERT_EQ(r.outcome, Outcome::response) << r.describe();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "version 1");
    EXPECT_EQ(r.header("X-Cache").value_or(""), "STALE") << r.describe();
    EXPECT_LT(ms_between(sent, r.done_at), 1000);
  }
  ASSERT_TRUE(origin_.wait_for_held("refresh", 1, 3s));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(origin_.requests(path), 2u) << "several stale requests must start exactly one refresh";
  EXPECT_EQ(origin_.held("refresh"), 1u);

  origin_.release("refresh");
  ASSERT_TRUE(wait_metric(port_, "hlscache_coalesce_inflight", "", [](double v) { return v == 0; }, 3s));
  auto fresh = get(path);
  ASSERT_TRUE(fresh.ok()) << fresh.describe();
  EXPECT_EQ(fresh.header("X-Cache").value_or(""), "HIT");
  EXPECT_EQ(fresh.body, "version 2");
  EXPECT_EQ(origin_.requests(path), 2u);
}

TEST_F(EdgeFreshnessTest, StaleIfErrorKeepsServingTheStaleCopyWithinGrace) {
  const std::string path = "/live/sie.ts";
  origin_.set(path, reply_with("good copy", {{"Content-Type", "video/mp2t"}, {"Cache-Control", "max-age=1"}}));
  start(EdgeYaml().with_freshness("stale_grace: 1500ms"));
  auto first = get(path);
  ASSERT_TRUE(first.ok()) << first.describe();
  const auto t0 = Clock::now();

  auto broken = reply_with("origin broke\n", {{"Content-Type", "text/plain"}});
  broken.status = 500;
  origin_.set(path, broken);
  std::this_thread::sleep_until(t0 + 1200ms);

  // Expired, the refresh fails with 500: the stale 200 keeps being served.
  for (int i = 0; i < 3; ++i) {
    auto r = get(path);
    ASSERT_TRUE(r.ok()) << r.describe();
    EXPECT_EQ(r.status, 200) << r.describe();
    EXPECT_EQ(r.body, "good copy");
    EXPECT_EQ(r.header("X-Cache").value_or(""), "STALE") << r.describe();
    ASSERT_TRUE(origin_.wait_for_requests(path, 2 + i, 3s)) << "no refresh attempt";
    ASSERT_TRUE(wait_metric(port_, "hlscache_coalesce_inflight", "", [](double v) { return v == 0; }, 3s));
  }
  ASSERT_LT(ms_between(t0, Clock::now()), 2300) << "too slow to check inside the grace";

  // Past max-age + stale_grace (2.5 s): the stale copy is gone and the error shows.
  std::this_thread::sleep_until(t0 + 2900ms);
  auto gone = get(path);
  ASSERT_TRUE(gone.ok()) << gone.describe();
  EXPECT_EQ(gone.status, 500) << gone.describe();
}

// With stale_wait (default 250 ms), a stale hit waits for the one refresh and gets the
// new version when the upstream answers in time: tiers do not each add a polling interval.
TEST_F(EdgeFreshnessTest, StaleHitTakesTheRefreshWhenItArrivesWithinStaleWait) {
  const std::string path = "/live/sw/index.m3u8";
  const std::string v1 = live_playlist(100), v2 = live_playlist(101);
  origin_.set(path, reply_with(v1, {{"Content-Type", "application/vnd.apple.mpegurl"}}));
  start();
  ASSERT_EQ(get(path).body, v1);
  origin_.set(path, reply_with(v2, {{"Content-Type", "application/vnd.apple.mpegurl"}}));
  std::this_thread::sleep_for(1200ms);  // past TARGETDURATION/2 = 1 s
  auto r = get(path);
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.body, v2);
  EXPECT_EQ(r.header("X-Cache").value_or(""), "MISS") << r.describe();
  EXPECT_NE(r.header("Cache-Status").value_or("").find("fwd=stale"), std::string::npos) << r.describe();
  EXPECT_EQ(origin_.requests(path), 2u);
  auto again = get(path);
  EXPECT_EQ(again.header("X-Cache").value_or(""), "HIT");
  EXPECT_EQ(again.body, v2);
}

}  // namespace
}  // namespace hlscache::test
