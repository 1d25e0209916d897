// What a collapsed request may be given (RFC 9111 §3, §4): only an answer a shared
// cache could store, and only when its Vary'd fields match. Everything else gets a
// fetch of its own — with its own request (its own token) — and the key is
// remembered as hit-for-miss for freshness.hit_for_miss. Also: Authorization
// (§3.5), Set-Cookie, qualified no-cache, CDN-Cache-Control (RFC 9213), request
// no-store / only-if-cached (§5.2.1), and which request fields go upstream.
#include <gtest/gtest.h>

#include <set>

#include "edge_test_util.hpp"

namespace hlscache::test {
namespace {

class EdgeSharingTest : public EdgeTest {
 protected:
  // Sends `requests` as a herd while the origin holds `hold`: waits until the first is
  // held there and `followers` more joined its fetch, releases it, and returns what
  // each client got (the first 64 bytes of each body kept).
  std::vector<HerdResult> herd_on_hold(std::vector<std::string> requests, const std::string& hold,
                                       std::size_t followers) {
    const double before = edge_metric(port_, "hlscache_coalesce_followers_total").value_or(0);
    ClientHerd herd(port_, std::move(requests),
                    ClientHerd::Options{.connect_timeout = 10s, .run_timeout = 30s, .keep_body = 64});
    EXPECT_TRUE(herd.connect_all()) << herd.connected();
    herd.start();
    EXPECT_TRUE(origin_.wait_for_held(hold, 1, 10s));
    EXPECT_TRUE(wait_metric_at_least(port_, "hlscache_coalesce_followers_total", "", before + followers, 20s))
        << "sent " << herd.sent();
    origin_.release(hold);
    EXPECT_TRUE(herd.wait_finished(30s)) << herd.finished() << " finished";
    return herd.results();
  }
};

OriginReply reply(std::string body, std::vector<std::pair<std::string, std::string>> headers, std::string hold = {}) {
  OriginReply r;
  r.body = std::move(body);
  r.headers = std::move(headers);
  r.headers.emplace_back("Content-Type", "video/mp2t");
  r.hold = std::move(hold);
  return r;
}

std::string token_of(const OriginRequest& req) {
  auto q = req.target.find("token=");
  return q == std::string::npos ? "none" : req.target.substr(q + 6);
}

ClientHerd::Options keep(std::size_t bytes) {
  ClientHerd::Options o;
  o.keep_body = bytes;
  o.connect_timeout = 10s;
  o.run_timeout = 30s;
  return o;
}

// The case: key_ignore_params strips the viewer token from the key, the
// origin answers no-store per viewer; alice and bob each get their own body.
TEST_F(EdgeSharingTest, NoStoreAnswersAreNeverGivenToAnotherViewer) {
  const std::string path = "/live/s/private.ts";
  origin_.set_handler([&](const OriginRequest& req) -> std::optional<OriginReply> {
    if (req.path() != path) return std::nullopt;
    return reply("for " + token_of(req), {{"Cache-Control", "no-store"}}, "h");
  });
  start(EdgeYaml().with_cache("key_ignore_params: [token]"));

  // Both reach the edge while alice's fetch is held: one leader, one follower of the key...
  auto rs = herd_on_hold({make_request("GET", path + "?token=alice"), make_request("GET", path + "?token=bob")}, "h", 1);
  // ...but the leader's no-store answer is not the follower's: each got its own.
  std::set<std::string> bodies;
  for (const auto& r : rs) {
    ASSERT_EQ(r.status, 200) << r.describe();
    EXPECT_EQ(r.header("X-Cache").value_or(""), "MISS") << r.describe();
    bodies.insert(r.body);
  }
  EXPECT_EQ(bodies, (std::set<std::string>{"for alice", "for bob"}));
  EXPECT_EQ(origin_.requests(path), 2u);
  EXPECT_GE(edge_metric(port_, "hlscache_coalesce_private_fetches_total").value_or(0), 1);
  EXPECT_GE(edge_metric(port_, "hlscache_coalesce_uncacheable_marks_total").value_or(0), 1);

  // And nothing was stored: carol gets hers from the origin too, on her own (hit-for-miss).
  auto carol = get(path + "?token=carol");
  EXPECT_EQ(carol.body, "for carol") << carol.describe();
  EXPECT_NE(carol.header("Cache-Status").value_or("").find("detail=hit-for-miss"), std::string::npos) << carol.describe();
  EXPECT_EQ(origin_.requests(path), 3u);
}

TEST_F(EdgeSharingTest, AThousandFollowersOfAPrivateAnswerMakeAThousandOriginRequests) {
  constexpr std::size_t kClients = 1000;
  const std::string path = "/live/s/mine.ts";
  origin_.set_handler([&](const OriginRequest& req) -> std::optional<OriginReply> {
    if (req.path() != path) return std::nullopt;
    return reply("for " + token_of(req), {{"Cache-Control", "private, max-age=60"}}, "first");
  });
  start(EdgeYaml().with_cache("key_ignore_params: [token]"));
  std::vector<std::string> requests;
  for (std::size_t i = 0; i < kClients; ++i) requests.push_back(make_request("GET", path + "?token=" + std::to_string(i)));
  auto rs = herd_on_hold(requests, "first", kClients - 1);
  std::size_t own = 0;
  for (std::size_t i = 0; i < rs.size(); ++i) {
    if (rs[i].status == 200 && rs[i].body == "for " + std::to_string(i)) ++own;
    else if (i - own < 5) ADD_FAILURE() << "client " << i << ": " << rs[i].describe() << " body " << rs[i].body;
  }
  EXPECT_EQ(own, kClients) << "every viewer gets its own private answer, none another's";
  EXPECT_EQ(origin_.requests(path), kClients);
}

TEST_F(EdgeSharingTest, HitForMissLetsTheNextHerdGoStraightToTheOriginUntilItExpires) {
  const std::string path = "/live/s/flip.ts";
  std::atomic<bool> cacheable{false};
  origin_.set_handler([&](const OriginRequest& req) -> std::optional<OriginReply> {
    if (req.path() != path) return std::nullopt;
    if (cacheable) return reply("shared", {{"Cache-Control", "max-age=60"}});
    return reply("private", {{"Cache-Control", "private"}}, req.header("X-Hold") ? "h" : "");
  });
  start(EdgeYaml().with_freshness("hit_for_miss: 1500ms"));
  ASSERT_EQ(get(path).body, "private");  // marks the key
  // A herd now: nobody waits on a leader whose answer it could not use — all 5 are at the origin at once.
  ClientHerd herd(port_, std::vector<std::string>(5, make_request("GET", path, {{"X-Hold", "1"}})), keep(16));
  ASSERT_TRUE(herd.connect_all());
  herd.start();
  EXPECT_TRUE(origin_.wait_for_held("h", 5, 5s)) << "held: " << origin_.held("h");
  origin_.release("h");
  ASSERT_TRUE(herd.wait_finished(10s));
  EXPECT_EQ(edge_metric(port_, "hlscache_coalesce_followers_total").value_or(-1), 0);
  // An answer that may be stored, while the mark holds, is stored and ends the mark.
  cacheable = true;
  EXPECT_EQ(get(path).body, "shared");
  auto hit = get(path);
  EXPECT_EQ(hit.header("X-Cache").value_or(""), "HIT") << hit.describe();
  EXPECT_EQ(origin_.requests(path), 7u);
}

TEST_F(EdgeSharingTest, HitForMissEndsAfterItsTime) {
  const std::string path = "/live/s/later.ts";
  std::atomic<int> n{0};
  origin_.set_handler([&](const OriginRequest& req) -> std::optional<OriginReply> {
    if (req.path() != path) return std::nullopt;
    return ++n == 1 ? reply("private", {{"Cache-Control", "no-store"}})
                    : reply("shared", {{"Cache-Control", "max-age=60"}}, "h");
  });
  start(EdgeYaml().with_freshness("hit_for_miss: 300ms"));
  ASSERT_EQ(get(path).body, "private");
  std::this_thread::sleep_for(400ms);
  // The mark is over: a herd is one leader and its followers again.
  for (const auto& r : herd_on_hold(std::vector<std::string>(20, make_request("GET", path)), "h", 19))
    EXPECT_EQ(r.body, "shared") << r.describe();
  EXPECT_EQ(origin_.requests(path), 2u);
}

// RFC 9111 §3.5: an answer to a request with Authorization is reused for others only
// with public, s-maxage or must-revalidate.
TEST_F(EdgeSharingTest, AuthorizedAnswersAreSharedOnlyWhenTheOriginAllowsIt) {
  origin_.set_handler([&](const OriginRequest& req) -> std::optional<OriginReply> {
    const std::string who = req.header("Authorization").value_or("nobody");
    if (req.path() == "/a/plain.ts") return reply("for " + who, {{"Cache-Control", "max-age=60"}}, "h");
    if (req.path() == "/a/public.ts") return reply("for all", {{"Cache-Control", "public, max-age=60"}});
    return std::nullopt;
  });
  start();
  auto rs = herd_on_hold({make_request("GET", "/a/plain.ts", {{"Authorization", "Bearer alice"}}),
                          make_request("GET", "/a/plain.ts", {{"Authorization", "Bearer bob"}})},
                         "h", 1);
  EXPECT_EQ(rs[0].body, "for Bearer alice");
  EXPECT_EQ(rs[1].body, "for Bearer bob");
  EXPECT_EQ(get("/a/plain.ts").body, "for nobody");  // not stored either
  EXPECT_EQ(origin_.requests("/a/plain.ts"), 3u);
  EXPECT_EQ(edge_metric(port_, "hlscache_coalesce_uncacheable_marks_total").value_or(-1), 0)
      << "an answer refused for the requester's Authorization says nothing about the object";

  EXPECT_EQ(get("/a/public.ts", {{"Authorization", "Bearer alice"}}).body, "for all");
  auto hit = get("/a/public.ts", {{"Authorization", "Bearer bob"}});
  EXPECT_EQ(hit.header("X-Cache").value_or(""), "HIT") << hit.describe();
  EXPECT_EQ(origin_.requests("/a/public.ts"), 1u);
}

// A leader with Authorization whose answer may not be shared releases the key at once:
// the anonymous requests that waited on it coalesce among themselves (one more origin
// request, not one each), and nothing is marked.
TEST_F(EdgeSharingTest, AnonymousFollowersOfAnAuthorizedLeaderCoalesceAmongThemselves) {
  origin_.set_handler([&](const OriginRequest& req) -> std::optional<OriginReply> {
    if (req.path() != "/a/live.m3u8") return std::nullopt;
    const bool auth = req.header("Authorization").has_value();
    return reply(auth ? "for alice" : "for all", {{"Cache-Control", "max-age=60"}}, auth ? "auth" : "anon");
  });
  start();
  std::vector<std::string> requests{make_request("GET", "/a/live.m3u8", {{"Authorization", "Bearer alice"}})};
  ClientHerd first(port_, requests, keep(32));
  ASSERT_TRUE(first.connect_all());
  first.start();
  ASSERT_TRUE(origin_.wait_for_held("auth", 1, 5s));
  ClientHerd herd(port_, std::vector<std::string>(20, make_request("GET", "/a/live.m3u8")), keep(32));
  ASSERT_TRUE(herd.connect_all());
  herd.start();
  ASSERT_TRUE(wait_metric_at_least(port_, "hlscache_coalesce_followers_total", "", 20, 5s));
  origin_.release("auth");
  ASSERT_TRUE(origin_.wait_for_held("anon", 1, 5s));
  origin_.release("anon");
  ASSERT_TRUE(first.wait_finished(10s));
  ASSERT_TRUE(herd.wait_finished(10s));
  EXPECT_EQ(first.results()[0].body, "for alice");
  for (const auto& r : herd.results()) EXPECT_EQ(r.body, "for all") << r.describe();
  EXPECT_EQ(origin_.requests("/a/live.m3u8"), 2u) << "alice's own, then one for the 20 others";
  EXPECT_EQ(get("/a/live.m3u8").header("X-Cache").value_or(""), "HIT");
}

// Upstream errors are shared with the waiting requests — but never someone's own
// (private, no-store) error, and never with the leader's cookie.
TEST_F(EdgeSharingTest, SharedErrorsCarryNoCookieAndPrivateErrorsAreNotShared) {
  std::atomic<int> n{0};
  origin_.set_handler([&](const OriginRequest& req) -> std::optional<OriginReply> {
    OriginReply r;
    r.body = "error " + std::to_string(++n);
    r.hold = "h";
    if (req.path() == "/e/lb.ts") r.status = 503, r.headers = {{"Set-Cookie", "AWSALB=" + std::to_string(n)}};
    else if (req.path() == "/e/mine.ts") r.status = 500, r.headers = {{"Cache-Control", "private"}};
    else return std::nullopt;
    return r;
  });
  start();
  for (const char* path : {"/e/lb.ts", "/e/mine.ts"}) {
    SCOPED_TRACE(path);
    const auto before = origin_.total_requests();
    auto rs = herd_on_hold(std::vector<std::string>(4, make_request("GET", path)), "h", 3);
    origin_.rearm("h");
    std::size_t cookies = 0;
    for (const auto& r : rs) cookies += r.header("Set-Cookie").has_value();
    if (std::string(path) == "/e/lb.ts") {
      EXPECT_EQ(origin_.total_requests() - before, 1u) << "a balancer's 503 is shared";
      EXPECT_EQ(cookies, 1u) << "only the leader's own client gets its cookie";
    } else {
      EXPECT_EQ(origin_.total_requests() - before, 4u) << "a private error is each viewer's own";
    }
  }
}

TEST_F(EdgeSharingTest, CookiesAreNeverSharedEvenOnAPublicAnswer) {
  std::atomic<int> n{0};
  origin_.set_handler([&](const OriginRequest& req) -> std::optional<OriginReply> {
    const std::string id = "id=" + std::to_string(++n);
    if (req.path() == "/c/plain.ts") return reply("p", {{"Cache-Control", "max-age=60"}, {"Set-Cookie", id}});
    if (req.path() == "/c/public.ts")
      return reply("q", {{"Cache-Control", "public, max-age=60"}, {"Set-Cookie", id}}, "h");
    return std::nullopt;
  });
  start();
  for (int i = 0; i < 2; ++i) EXPECT_TRUE(get("/c/plain.ts").header("Set-Cookie"));
  EXPECT_EQ(origin_.requests("/c/plain.ts"), 2u);  // Set-Cookie without public: not stored

  std::size_t with_cookie = 0;
  for (const auto& r : herd_on_hold(std::vector<std::string>(3, make_request("GET", "/c/public.ts")), "h", 2)) {
    EXPECT_EQ(r.body, "q");
    with_cookie += r.header("Set-Cookie").has_value();
  }
  EXPECT_EQ(with_cookie, 1u) << "only the leader's own client gets the cookie";
  auto hit = get("/c/public.ts");
  EXPECT_EQ(hit.header("X-Cache").value_or(""), "HIT");
  EXPECT_FALSE(hit.header("Set-Cookie").has_value()) << hit.describe();
  EXPECT_EQ(origin_.requests("/c/public.ts"), 1u);
}

// RFC 9111 §5.2.2.4: with no-cache="X-Token" the rest is stored, X-Token is not served from the store.
TEST_F(EdgeSharingTest, QualifiedNoCacheFieldsAreNotServedFromTheStore) {
  origin_.set("/q/a.ts", reply("a", {{"Cache-Control", "max-age=60, no-cache=\"X-Token\""}, {"X-Token", "secret"},
                                     {"X-Public", "ok"}}));
  start();
  auto first = get("/q/a.ts");
  EXPECT_EQ(first.header("X-Token").value_or(""), "secret");
  auto hit = get("/q/a.ts");
  EXPECT_EQ(hit.header("X-Cache").value_or(""), "HIT");
  EXPECT_FALSE(hit.header("X-Token").has_value()) << hit.describe();
  EXPECT_EQ(hit.header("X-Public").value_or(""), "ok");
}

TEST_F(EdgeSharingTest, AFollowerOfAnotherVariantFetchesItsOwnAndBothAreStored) {
  origin_.set_handler([&](const OriginRequest& req) -> std::optional<OriginReply> {
    if (req.path() != "/v/tier.ts") return std::nullopt;
    const std::string tier = req.header("X-Tier").value_or("none");
    return reply("for " + tier, {{"Cache-Control", "max-age=60"}, {"Vary", "X-Tier"}}, tier == "gold" ? "h" : "");
  });
  start();
  // The gold leader first, held at the origin; then a silver and a gold request join it.
  ClientHerd leader(port_, {make_request("GET", "/v/tier.ts", {{"X-Tier", "gold"}})}, keep(32));
  ASSERT_TRUE(leader.connect_all());
  leader.start();
  ASSERT_TRUE(origin_.wait_for_held("h", 1, 5s));
  ClientHerd others(port_, {make_request("GET", "/v/tier.ts", {{"X-Tier", "silver"}}),
                            make_request("GET", "/v/tier.ts", {{"X-Tier", "gold"}})},
                    keep(32));
  ASSERT_TRUE(others.connect_all());
  others.start();
  ASSERT_TRUE(wait_metric_at_least(port_, "hlscache_coalesce_followers_total", "", 2, 5s));
  origin_.release("h");
  ASSERT_TRUE(leader.wait_finished(10s));
  ASSERT_TRUE(others.wait_finished(10s));
  const auto lead = leader.results(), rs = others.results();
  EXPECT_EQ(lead[0].body, "for gold");
  EXPECT_EQ(lead[0].header("X-Cache").value_or(""), "MISS");
  EXPECT_EQ(rs[0].body, "for silver");
  EXPECT_NE(rs[0].header("Cache-Status").value_or("").find("fwd=vary-miss"), std::string::npos) << rs[0].describe();
  EXPECT_EQ(rs[1].body, "for gold");
  EXPECT_EQ(rs[1].header("X-Cache").value_or(""), "COALESCED");
  EXPECT_EQ(origin_.requests("/v/tier.ts"), 2u);
  for (const char* tier : {"gold", "silver"}) {
    auto hit = get("/v/tier.ts", {{"X-Tier", tier}});
    EXPECT_EQ(hit.header("X-Cache").value_or(""), "HIT") << tier;
    EXPECT_EQ(hit.body, std::string("for ") + tier);
  }
}

TEST_F(EdgeSharingTest, VariantsPerKeyAreBoundedOldestOut) {
  origin_.set_handler([&](const OriginRequest& req) -> std::optional<OriginReply> {
    if (req.path() != "/v/many.ts") return std::nullopt;
    return reply("for " + req.header("X-N").value_or("-"), {{"Cache-Control", "max-age=60"}, {"Vary", "X-N"}});
  });
  start(EdgeYaml().with_cache("max_variants: 2"));
  for (const char* n : {"1", "2", "3"}) ASSERT_TRUE(get("/v/many.ts", {{"X-N", n}}).ok());
  EXPECT_EQ(get("/v/many.ts", {{"X-N", "3"}}).header("X-Cache").value_or(""), "HIT");
  EXPECT_EQ(get("/v/many.ts", {{"X-N", "2"}}).header("X-Cache").value_or(""), "HIT");
  EXPECT_EQ(get("/v/many.ts", {{"X-N", "1"}}).header("X-Cache").value_or(""), "MISS");  // replaced by the third
  EXPECT_EQ(origin_.requests("/v/many.ts"), 4u);
}

// RFC 9213: CDN-Cache-Control's directives replace Cache-Control's for this cache.
TEST_F(EdgeSharingTest, CdnCacheControlTakesPrecedenceOverCacheControl) {
  origin_.set("/cdn/cache.ts", reply("c", {{"Cache-Control", "no-store"}, {"CDN-Cache-Control", "max-age=60"}}));
  origin_.set("/cdn/private.ts", reply("p", {{"Cache-Control", "max-age=600"}, {"CDN-Cache-Control", "private"}}));
  origin_.set("/cdn/bad.ts", reply("b", {{"Cache-Control", "max-age=600"}, {"CDN-Cache-Control", "max-age=x"}}));
  start();
  for (int i = 0; i < 2; ++i)
    for (const char* p : {"/cdn/cache.ts", "/cdn/private.ts", "/cdn/bad.ts"}) ASSERT_TRUE(get(p).ok());
  EXPECT_EQ(origin_.requests("/cdn/cache.ts"), 1u);
  EXPECT_EQ(origin_.requests("/cdn/private.ts"), 2u);
  EXPECT_EQ(origin_.requests("/cdn/bad.ts"), 1u) << "an invalid targeted field falls back to Cache-Control";
  auto hit = get("/cdn/cache.ts");
  EXPECT_EQ(hit.header("CDN-Cache-Control").value_or(""), "max-age=60") << "passed on for the next CDN tier";
}

// A playlist that varies on Origin (CORS) and is stored with its gzip copy varies on
// Accept-Encoding too: a downstream cache must not hand the gzip copy to anyone.
TEST_F(EdgeSharingTest, AVaryingPlaylistWithAGzipCopyAlsoVariesOnAcceptEncoding) {
  const std::string playlist = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nseg_1.ts\n" + std::string(2000, '#') + "\n";
  OriginReply r;
  r.body = playlist;
  r.headers = {{"Content-Type", "application/vnd.apple.mpegurl"}, {"Cache-Control", "max-age=60"}, {"Vary", "Origin"}};
  origin_.set("/g/index.m3u8", r);
  start();
  ASSERT_TRUE(get("/g/index.m3u8", {{"Origin", "https://a.example"}}).ok());
  for (const char* ae : {"gzip", "identity"}) {
    auto hit = get("/g/index.m3u8", {{"Origin", "https://a.example"}, {"Accept-Encoding", ae}});
    EXPECT_EQ(hit.header("X-Cache").value_or(""), "HIT") << hit.describe();
    EXPECT_EQ(hit.header("Vary").value_or(""), "Origin, Accept-Encoding") << ae;
    EXPECT_EQ(hit.header_count("Vary"), 1u);
  }
}

TEST_F(EdgeSharingTest, RequestNoStoreGetsItsOwnFetchAndOnlyIfCachedNeverGoesUpstream) {
  origin_.set("/r/a.ts", reply("a", {{"Cache-Control", "max-age=60"}}));
  start();
  auto oic = get("/r/a.ts", {{"Cache-Control", "only-if-cached"}});
  EXPECT_EQ(oic.status, 504) << oic.describe();  // RFC 9111 §5.2.1.7
  EXPECT_EQ(origin_.requests("/r/a.ts"), 0u);
  auto ns = get("/r/a.ts", {{"Cache-Control", "no-store"}});
  EXPECT_EQ(ns.body, "a");
  EXPECT_NE(ns.header("Cache-Status").value_or("").find("fwd=request"), std::string::npos) << ns.describe();
  EXPECT_EQ(get("/r/a.ts", {{"Cache-Control", "no-store, only-if-cached"}}).status, 504)
      << "only-if-cached wins over no-store: never upstream";
  EXPECT_EQ(get("/r/a.ts").header("X-Cache").value_or(""), "MISS") << "a no-store request's answer is not stored";
  EXPECT_EQ(get("/r/a.ts", {{"Cache-Control", "only-if-cached"}}).header("X-Cache").value_or(""), "HIT");
  EXPECT_EQ(origin_.requests("/r/a.ts"), 2u);
}

TEST_F(EdgeSharingTest, RequestFieldsGoUpstreamMinusHopByHopConditionalsAndTheStripList) {
  origin_.set("/f/a.ts", reply("a", {{"Cache-Control", "max-age=60"}}));
  start(EdgeYaml().with_upstream("strip_request_headers: [X-Secret, Accept-Encoding]"));
  auto r = get("/f/a.ts", {{"User-Agent", "hls.js"}, {"X-Custom", "1"}, {"Accept-Encoding", "gzip"},
                           {"If-None-Match", "\"x\""}, {"If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT"},
                           {"Range", "bytes=0-0"}, {"Connection", "X-Hop"}, {"X-Hop", "1"}, {"TE", "trailers"},
                           {"X-Secret", "s"}, {"Via", "1.1 player-proxy"}});
  ASSERT_EQ(r.status, 200) << r.describe();  // a miss is fetched and sent whole; ranges are served from the store
  auto log = origin_.log();
  ASSERT_EQ(log.size(), 1u);
  const auto& req = log.front();
  EXPECT_EQ(req.header("User-Agent").value_or(""), "hls.js");
  EXPECT_EQ(req.header("X-Custom").value_or(""), "1");
  for (const char* gone : {"Accept-Encoding", "If-None-Match", "If-Modified-Since", "Range", "X-Hop", "TE", "X-Secret"})
    EXPECT_FALSE(req.header(gone).has_value()) << gone << " was forwarded";
  std::string via;
  for (const auto& [k, v] : req.headers)
    if (k == "Via") via += (via.empty() ? "" : ", ") + v;
  EXPECT_EQ(via, "1.1 player-proxy, 1.1 edge-it");  // the client's Via list, then ours
  EXPECT_EQ(req.header("X-Forwarded-For").value_or(""), "127.0.0.1");
}

TEST_F(EdgeSharingTest, AnUncacheableRefreshDropsTheStaleCopy) {
  std::atomic<bool> now_private{false};
  origin_.set_handler([&](const OriginRequest& req) -> std::optional<OriginReply> {
    if (req.path() != "/d/a.ts") return std::nullopt;
    if (now_private) return reply("new", {{"Cache-Control", "no-store"}});
    return reply("old", {{"Cache-Control", "max-age=1"}});
  });
  // hit_for_miss off: what keeps the stale copy from being served is its removal, not a mark.
  start(EdgeYaml().with_freshness("stale_grace: 30s, stale_wait: 1s, hit_for_miss: 0s"));
  ASSERT_EQ(get("/d/a.ts").body, "old");
  std::this_thread::sleep_for(1100ms);
  now_private = true;
  EXPECT_EQ(get("/d/a.ts").body, "new");  // the refresh arrives within stale_wait
  auto after = get("/d/a.ts");
  EXPECT_EQ(after.body, "new") << "the stale copy must not be served after the origin said no-store";
  EXPECT_NE(after.header("X-Cache").value_or(""), "STALE");
}

}  // namespace
}  // namespace hlscache::test
