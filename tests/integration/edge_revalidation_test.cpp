// Conditional revalidation (RFC 9111 §4.3): a stored response with a validator is
// refreshed with If-None-Match / If-Modified-Since, one request per key however
// many clients wait (coalesced like a miss); a 304 updates the stored fields
// (§4.3.4) and the stored body is served without being sent again; a 304 about
// another representation, or a 200, replaces it; no-cache responses are validated
// before every use. Clients' own conditionals are answered by the edge, never
// forwarded.
#include <gtest/gtest.h>

#include "edge_test_util.hpp"

namespace hlscache::test {
namespace {

using EdgeRevalidationTest = EdgeTest;

struct Versioned {
  std::string etag = "\"v1\"";
  std::string body;
  std::string cache_control = "max-age=1";
  std::string last_modified;
  std::string hold;      // hold conditional requests here
  std::string etag_304;  // the ETag a 304 carries (default: the current one)
};

// An origin that answers conditionals the way a real one does.
FakeOrigin::Handler conditional_origin(std::string path, std::shared_ptr<Versioned> v) {
  return [path, v](const OriginRequest& req) -> std::optional<OriginReply> {
    if (req.path() != path) return std::nullopt;
    OriginReply r;
    r.headers = {{"Content-Type", "video/mp2t"}, {"Cache-Control", v->cache_control}};
    if (!v->etag.empty()) r.headers.emplace_back("ETag", v->etag);
    if (!v->last_modified.empty()) r.headers.emplace_back("Last-Modified", v->last_modified);
    const auto inm = req.header("If-None-Match");
    const auto ims = req.header("If-Modified-Since");
    const bool conditional = inm || ims;
    if ((inm && *inm == v->etag) || (!inm && ims && *ims == v->last_modified)) {
      r.status = 304;
      if (!v->etag_304.empty()) {
        for (auto& [k, val] : r.headers)
          if (k == "ETag") val = v->etag_304;
      }
    } else {
      r.body = v->body;
    }
    if (conditional) r.hold = v->hold;
    return r;
  };
}

std::size_t conditional_requests(const FakeOrigin& o, std::string_view path) {
  std::size_t n = 0;
  for (const auto& r : o.log())
    if (r.path() == path && (r.header("If-None-Match") || r.header("If-Modified-Since"))) ++n;
  return n;
}

TEST_F(EdgeRevalidationTest, AStaleObjectWithAnETagIsRevalidatedAndA304RefreshesIt) {
  const std::string path = "/r/seg.ts";
  auto v = std::make_shared<Versioned>();
  v->body = pattern_body(200'000, 7);
  origin_.set_handler(conditional_origin(path, v));
  start(EdgeYaml().with_freshness("stale_grace: 0s"));
  auto first = get(path);
  ASSERT_EQ(first.body, v->body);
  std::this_thread::sleep_for(1100ms);
  v->cache_control = "max-age=60";  // what the 304 will say now
  auto revalidated = get(path);
  ASSERT_EQ(revalidated.status, 200) << revalidated.describe();
  EXPECT_EQ(revalidated.body, v->body) << "the stored body, served after a 304";
  EXPECT_EQ(revalidated.header("Cache-Control").value_or(""), "max-age=60") << "fields updated from the 304";
  auto log = origin_.log();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[1].header("If-None-Match").value_or(""), "\"v1\"");
  // Fresh again for the 304's max-age: a hit, nothing more upstream.
  auto hit = get(path);
  EXPECT_EQ(hit.header("X-Cache").value_or(""), "HIT") << hit.describe();
  EXPECT_GE(cache_status_ttl(hit).value_or(-1), 55);
  EXPECT_EQ(origin_.total_requests(), 2u);
}

// Within the grace the refresh of a stale hit is conditional too, and a stale hit that
// waits for it (stale_wait) is answered from the 304-refreshed object.
TEST_F(EdgeRevalidationTest, AStaleHitsRefreshIsConditional) {
  const std::string path = "/r/grace.ts";
  auto v = std::make_shared<Versioned>();
  v->body = "graceful";
  origin_.set_handler(conditional_origin(path, v));
  start(EdgeYaml().with_freshness("stale_grace: 30s, stale_wait: 2s"));
  ASSERT_EQ(get(path).body, "graceful");
  std::this_thread::sleep_for(1100ms);
  v->cache_control = "max-age=60";
  auto r = get(path);
  EXPECT_EQ(r.body, "graceful");
  EXPECT_NE(r.header("Cache-Status").value_or("").find("fwd=stale"), std::string::npos) << r.describe();
  EXPECT_EQ(conditional_requests(origin_, path), 1u);
  EXPECT_EQ(get(path).header("X-Cache").value_or(""), "HIT");
}

// A variant is revalidated as itself: its own validators, stored back under its own variant.
TEST_F(EdgeRevalidationTest, AVariantIsRevalidatedUnderItsOwnKey) {
  origin_.set_handler([](const OriginRequest& req) -> std::optional<OriginReply> {
    if (req.path() != "/r/var.ts") return std::nullopt;
    const std::string tier = req.header("X-Tier").value_or("none");
    OriginReply r;
    r.headers = {{"Content-Type", "video/mp2t"}, {"Cache-Control", "max-age=1"}, {"Vary", "X-Tier"},
                 {"ETag", "\"" + tier + "\""}};
    if (req.header("If-None-Match").value_or("") == "\"" + tier + "\"") r.status = 304;
    else r.body = "for " + tier;
    return r;
  });
  start(EdgeYaml().with_freshness("stale_grace: 0s"));
  for (const char* t : {"gold", "silver"}) ASSERT_EQ(get("/r/var.ts", {{"X-Tier", t}}).body, std::string("for ") + t);
  std::this_thread::sleep_for(1100ms);
  for (const char* t : {"gold", "silver"}) EXPECT_EQ(get("/r/var.ts", {{"X-Tier", t}}).body, std::string("for ") + t);
  auto log = origin_.log();
  ASSERT_EQ(log.size(), 4u);
  EXPECT_EQ(log[2].header("If-None-Match").value_or(""), "\"gold\"");
  EXPECT_EQ(log[3].header("If-None-Match").value_or(""), "\"silver\"");
  for (const char* t : {"gold", "silver"})
    EXPECT_EQ(get("/r/var.ts", {{"X-Tier", t}}).header("X-Cache").value_or(""), "HIT") << t;
}

TEST_F(EdgeRevalidationTest, LastModifiedIsSentAsIfModifiedSince) {
  const std::string path = "/r/lm.ts";
  auto v = std::make_shared<Versioned>();
  v->etag.clear();
  v->last_modified = "Sun, 06 Nov 1994 08:49:37 GMT";
  v->body = "lm body";
  origin_.set_handler(conditional_origin(path, v));
  start(EdgeYaml().with_freshness("stale_grace: 0s"));
  ASSERT_EQ(get(path).body, "lm body");
  std::this_thread::sleep_for(1100ms);
  EXPECT_EQ(get(path).body, "lm body");
  auto log = origin_.log();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[1].header("If-Modified-Since").value_or(""), v->last_modified);
  EXPECT_FALSE(log[1].header("If-None-Match").has_value());
}

TEST_F(EdgeRevalidationTest, AHerdOnAStaleObjectMakesOneConditionalRequest) {
  const std::string path = "/r/herd.ts";
  auto v = std::make_shared<Versioned>();
  v->body = pattern_body(64'000, 3);
  v->hold = "revalidate";
  origin_.set_handler(conditional_origin(path, v));
  start(EdgeYaml().with_freshness("stale_grace: 0s"));
  ASSERT_EQ(get(path).body, v->body);
  std::this_thread::sleep_for(1100ms);
  ClientHerd herd(port_, std::vector<std::string>(50, make_request("GET", path)),
                  ClientHerd::Options{.connect_timeout = 5s, .run_timeout = 20s, .keep_body = 0});
  ASSERT_TRUE(herd.connect_all());
  herd.start();
  ASSERT_TRUE(origin_.wait_for_held("revalidate", 1, 5s));
  ASSERT_TRUE(wait_metric_at_least(port_, "hlscache_coalesce_followers_total", "", 49, 5s));
  origin_.release("revalidate");
  ASSERT_TRUE(herd.wait_finished(10s));
  const auto crc = crc32_of(v->body);
  for (const auto& r : herd.results()) {
    EXPECT_EQ(r.status, 200) << r.describe();
    EXPECT_EQ(r.crc, crc) << r.describe();
  }
  EXPECT_EQ(conditional_requests(origin_, path), 1u);
  EXPECT_EQ(origin_.requests(path), 2u);
}

TEST_F(EdgeRevalidationTest, AChangedObjectIsReplacedBy200) {
  const std::string path = "/r/changed.ts";
  auto v = std::make_shared<Versioned>();
  v->body = "version one";
  origin_.set_handler(conditional_origin(path, v));
  start(EdgeYaml().with_freshness("stale_grace: 0s"));
  ASSERT_EQ(get(path).body, "version one");
  std::this_thread::sleep_for(1100ms);
  v->etag = "\"v2\"";
  v->body = "version two";
  v->cache_control = "max-age=60";
  EXPECT_EQ(get(path).body, "version two");
  EXPECT_EQ(get(path).header("X-Cache").value_or(""), "HIT");
  EXPECT_EQ(get(path).body, "version two");
}

// §4.3.4: a 304 whose strong validator is not the stored one updates nothing; the
// edge fetches the object whole instead of serving the old bytes.
TEST_F(EdgeRevalidationTest, A304ForAnotherRepresentationIsFollowedByAFullFetch) {
  const std::string path = "/r/other.ts";
  auto v = std::make_shared<Versioned>();
  v->body = "old bytes";
  origin_.set_handler(conditional_origin(path, v));
  start(EdgeYaml().with_freshness("stale_grace: 0s"));
  ASSERT_EQ(get(path).body, "old bytes");
  std::this_thread::sleep_for(1100ms);
  v->etag_304 = "\"v9\"";  // a broken origin: 304 for v1 but says v9
  v->body = "new bytes";
  auto r = get(path);
  EXPECT_EQ(r.status, 200);
  // The unconditional refetch gets the origin's 200 with whatever it has now.
  EXPECT_EQ(r.body, "new bytes") << r.describe();
  auto log = origin_.log();
  ASSERT_EQ(log.size(), 3u);
  EXPECT_TRUE(log[1].header("If-None-Match").has_value());
  EXPECT_FALSE(log[2].header("If-None-Match").has_value());
}

TEST_F(EdgeRevalidationTest, NoCacheWithAValidatorIsRevalidatedBeforeEveryUse) {
  const std::string path = "/r/nocache.m3u8";
  auto v = std::make_shared<Versioned>();
  v->cache_control = "no-cache";
  v->body = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nseg_1.ts\n";
  origin_.set_handler(conditional_origin(path, v));
  start();
  for (int i = 0; i < 4; ++i) {
    auto r = get(path);
    ASSERT_EQ(r.status, 200) << r.describe();
    EXPECT_EQ(r.body, v->body);
    EXPECT_NE(r.header("X-Cache").value_or(""), "HIT") << "no-cache: never served without validation";
  }
  EXPECT_EQ(origin_.requests(path), 4u);
  EXPECT_EQ(conditional_requests(origin_, path), 3u) << "every use after the first is a conditional request";
}

TEST_F(EdgeRevalidationTest, ObjectsPastTheirGraceAreKeptToRevalidate) {
  const std::string path = "/r/kept.ts";
  auto v = std::make_shared<Versioned>();
  v->body = "kept";
  origin_.set_handler(conditional_origin(path, v));
  start(EdgeYaml().with_freshness("stale_grace: 200ms, revalidate_keep: 30s"));
  ASSERT_EQ(get(path).body, "kept");
  std::this_thread::sleep_for(1500ms);  // past max-age and grace
  EXPECT_EQ(get(path).body, "kept");
  EXPECT_EQ(conditional_requests(origin_, path), 1u);
}

TEST_F(EdgeRevalidationTest, ClientConditionalsAreAnsweredByTheEdgeNotForwarded) {
  const std::string path = "/r/client.ts";
  auto v = std::make_shared<Versioned>();
  v->cache_control = "max-age=60";
  v->body = "body";
  origin_.set_handler(conditional_origin(path, v));
  start();
  auto miss = get(path, {{"If-None-Match", "\"v1\""}});
  EXPECT_EQ(miss.status, 200) << "a miss is fetched whole: the client's validator is not forwarded";
  EXPECT_EQ(conditional_requests(origin_, path), 0u);
  auto hit = get(path, {{"If-None-Match", "\"v1\""}});
  EXPECT_EQ(hit.status, 304) << hit.describe();
  EXPECT_EQ(get(path, {{"If-None-Match", "\"other\""}}).status, 200);
  EXPECT_EQ(origin_.requests(path), 1u);
}

}  // namespace
}  // namespace hlscache::test
