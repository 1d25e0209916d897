// Request coalescing through the real edge daemon (docs/design.md "The life of a request",
// step 7; style rule 8): a herd on one cold segment held at the origin makes exactly
// one origin request; followers stream bytes as they arrive (before the origin has
// sent its last byte); a leader whose client goes away does not take the fetch with
// it; the per-key follower bound and the in-flight fetch bound answer 503.
#include <gtest/gtest.h>


#include "edge_test_util.hpp"

namespace hlscache::test {
namespace {

using EdgeCoalesceTest = EdgeTest;

OriginReply segment_reply(std::string body, std::string hold = {}) {
  OriginReply r;
  r.headers = {{"Content-Type", "video/mp2t"}};
  r.body = std::move(body);
  r.hold = std::move(hold);
  return r;
}

TEST_F(EdgeCoalesceTest, ThousandClientsOnOneColdSegmentMakeOneOriginRequest) {
  constexpr std::size_t kClients = 1000;
  const std::string path = "/live/stream1/seg_1042.ts";
  const std::string body = pattern_body(1 << 20, 1042);
  const std::uint32_t body_crc = crc32_of(body);
  origin_.set(path, segment_reply(body, "herd"));
  start();

  ClientHerd herd(port_, std::vector<std::string>(kClients, make_request("GET", path)),
                  ClientHerd::Options{.connect_timeout = 10s, .run_timeout = 30s});
  ASSERT_TRUE(herd.connect_all()) << herd.connected() << " of " << kClients << " connected";
  herd.start();

  // Every request reaches the daemon while the origin holds the one fetch: one leader, 999 followers.
  ASSERT_TRUE(origin_.wait_for_held("herd", 1, 10s));
  ASSERT_TRUE(wait_metric_at_least(port_, "hlscache_coalesce_followers_total", "", kClients - 1, 20s))
      << "followers: " << edge_metric(port_, "hlscache_coalesce_followers_total").value_or(-1)
      << ", requests sent: " << herd.sent();
  EXPECT_EQ(herd.heads(), 0u) << "a response head went out before the origin answered";
  EXPECT_EQ(origin_.requests(path), 1u);
  origin_.release("herd");

  // ~1 GiB leaves the edge in all; bounded so a regression to tiny upstream reads fails here, not at ctest's timeout.
  ASSERT_TRUE(herd.wait_finished(20s)) << herd.finished() << " of " << kClients << " finished";
  auto rs = herd.results();
  EXPECT_EQ(origin_.requests(path), 1u) << "the herd must make exactly one origin request";
  EXPECT_EQ(origin_.total_requests(), 1u);

  std::size_t complete = 0;
  for (std::size_t i = 0; i < rs.size(); ++i) {
    const auto& r = rs[i];
    if (r.outcome == Outcome::response && r.status == 200 && r.body_bytes == body.size() && r.crc == body_crc)
      ++complete;
    else if (i - complete < 5)  // show the first few failures only
      ADD_FAILURE() << "client " << i << ": " << r.describe();
  }
  EXPECT_EQ(complete, kClients);
  auto x = count_x_cache(rs);
  EXPECT_EQ(x.miss, 1u);
  EXPECT_EQ(x.miss + x.coalesced + x.hit, kClients)
      << "MISS " << x.miss << " COALESCED " << x.coalesced << " HIT " << x.hit << " other " << x.none;
  // All of them were attached before the release, so none can have been a HIT.
  EXPECT_EQ(x.coalesced, kClients - 1);

  // And the segment is now cached: one more request is a HIT, still with one origin request.
  auto again = get(path, {}, 10s);
  ASSERT_TRUE(again.ok()) << again.describe();
  EXPECT_EQ(again.header("X-Cache").value_or(""), "HIT");
  EXPECT_EQ(crc32_of(again.body), body_crc);
  EXPECT_EQ(origin_.requests(path), 1u);

  // Each request counted once by what the cache did (docs/operations.md's hit ratio):
  // 1 miss, 999 coalesced, 1 hit, and together the 1,001 media requests served.
  auto metric = [&](const char* name) { return edge_metric(port_, name).value_or(-1); };
  EXPECT_EQ(metric("hlscache_cache_misses_total"), 1);
  EXPECT_EQ(metric("hlscache_cache_coalesced_total"), kClients - 1);
  EXPECT_EQ(metric("hlscache_cache_hits_total"), 1);
  EXPECT_EQ(metric("hlscache_cache_stale_hits_total"), 0);
  EXPECT_EQ(metric("hlscache_cache_misses_total") + metric("hlscache_cache_coalesced_total") +
                metric("hlscache_cache_hits_total") + metric("hlscache_cache_stale_hits_total"),
            kClients + 1);
  EXPECT_EQ(metric("hlscache_internal_errors_total"), 0);
}

TEST_F(EdgeCoalesceTest, FollowersStreamBodyBytesBeforeTheOriginHasSentItsLastByte) {
  constexpr std::size_t kClients = 4;
  const std::string path = "/live/stream1/seg_7.ts";
  const std::string body = pattern_body(1 << 20, 7);
  auto reply = segment_reply(body, "slow");
  reply.slow_chunk = 64 * 1024;  // 16 pieces, 50 ms apart: the origin needs ~750 ms for the body
  reply.slow_interval = 50ms;
  origin_.set(path, reply);
  start();

  ClientHerd herd(port_, std::vector<std::string>(kClients, make_request("GET", path)));
  ASSERT_TRUE(herd.connect_all());
  herd.start();
  ASSERT_TRUE(origin_.wait_for_held("slow", 1, 5s));
  ASSERT_TRUE(wait_metric_at_least(port_, "hlscache_coalesce_followers_total", "", kClients - 1, 5s));
  const auto released = std::chrono::steady_clock::now();
  origin_.release("slow");
  ASSERT_TRUE(herd.wait_finished(15s));
  auto rs = herd.results();

  const auto origin_last = origin_.last_byte_sent(path);
  ASSERT_GT(origin_last, released) << "the origin never finished its answer";
  EXPECT_GT(ms_between(released, origin_last), 500) << "the origin was not slow: the test proves nothing";
  EXPECT_EQ(origin_.requests(path), 1u);
  for (std::size_t i = 0; i < rs.size(); ++i) {
    const auto& r = rs[i];
    ASSERT_EQ(r.outcome, Outcome::response) << "client " << i << ": " << r.describe();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body_bytes, body.size());
    EXPECT_EQ(r.crc, crc32_of(body)) << "client " << i;
    // Read-while-writer: the first byte reached the client long before the origin's last one.
    EXPECT_LT(r.first_byte_at, origin_last) << "client " << i << " got its first byte "
                                            << ms_between(origin_last, r.first_byte_at) << " ms after the origin's last";
    EXPECT_GT(ms_between(r.first_byte_at, origin_last), 300) << "client " << i;
  }
  auto x = count_x_cache(rs);
  EXPECT_EQ(x.miss, 1u);
  EXPECT_EQ(x.coalesced, kClients - 1);
}

TEST_F(EdgeCoalesceTest, FollowerJoiningMidBodyGetsTheWholeObjectFromTheStart) {
  const std::string path = "/live/stream1/seg_8.ts";
  const std::string body = pattern_body(512 * 1024, 8);
  auto reply = segment_reply(body);
  reply.slow_chunk = 64 * 1024;  // 8 pieces, 100 ms apart
  reply.slow_interval = 100ms;
  origin_.set(path, reply);
  start();

  auto first = Connection::open(port_);
  ASSERT_TRUE(first.send(make_request("GET", path)));
  ASSERT_TRUE(origin_.wait_for_requests(path, 1, 5s));
  std::this_thread::sleep_for(250ms);  // the head and a few pieces are out; the rest is still coming
  ASSERT_EQ(origin_.last_byte_sent(path), std::chrono::steady_clock::time_point{}) << "the origin already finished";
  auto late = get(path, {}, 10s);
  ASSERT_TRUE(late.ok()) << late.describe();
  EXPECT_EQ(late.status, 200);
  EXPECT_EQ(late.header("X-Cache").value_or(""), "COALESCED") << late.describe();
  EXPECT_EQ(late.body.size(), body.size());
  EXPECT_TRUE(late.body == body) << "a late follower must get the bytes published before it joined";
  auto r = first.read_response(10s);
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_TRUE(r.body == body);
  EXPECT_EQ(origin_.requests(path), 1u);
}

TEST_F(EdgeCoalesceTest, LeaderClientThatDisconnectsBeforeTheAnswerDoesNotCancelTheFetch) {
  const std::string path = "/live/stream1/seg_9.ts";
  const std::string body = pattern_body(300 * 1024, 9);
  origin_.set(path, segment_reply(body, "h"));
  start();

  auto leader = Connection::open(port_);
  ASSERT_TRUE(leader.connected()) << leader.error();
  ASSERT_TRUE(leader.send(make_request("GET", path)));
  ASSERT_TRUE(origin_.wait_for_held("h", 1, 5s));
  leader.close();  // the client that caused the fetch goes away

  auto follower = Connection::open(port_);
  ASSERT_TRUE(follower.connected());
  ASSERT_TRUE(follower.send(make_request("GET", path)));
  ASSERT_TRUE(wait_metric_at_least(port_, "hlscache_coalesce_followers_total", "", 1, 5s))
      << "the second client did not join the fetch in flight";
  origin_.release("h");

  auto r = follower.read_response(10s);
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("X-Cache").value_or(""), "COALESCED");
  EXPECT_EQ(r.body.size(), body.size());
  EXPECT_TRUE(r.body == body);
  EXPECT_EQ(origin_.requests(path), 1u);

  // The orphaned fetch completed and was stored (its task inserts, then releases the key:
  // until then a request would still join it as a follower).
  ASSERT_TRUE(wait_metric(port_, "hlscache_coalesce_inflight", "", [](double v) { return v == 0; }, 5s));
  auto hit = get(path);
  ASSERT_TRUE(hit.ok()) << hit.describe();
  EXPECT_EQ(hit.header("X-Cache").value_or(""), "HIT");
  EXPECT_EQ(origin_.requests(path), 1u);
}

TEST_F(EdgeCoalesceTest, LeaderClientThatDisconnectsMidBodyDoesNotCutTheFollowers) {
  const std::string path = "/live/stream1/seg_10.ts";
  const std::string body = pattern_body(512 * 1024, 10);
  auto reply = segment_reply(body, "h");
  reply.slow_chunk = 64 * 1024;
  reply.slow_interval = 30ms;
  origin_.set(path, reply);
  start();

  ClientHerd herd(port_, std::vector<std::string>(3, make_request("GET", path)));
  ASSERT_TRUE(herd.connect_all());
  herd.start();
  ASSERT_TRUE(origin_.wait_for_held("h", 1, 5s));
  ASSERT_TRUE(wait_metric_at_least(port_, "hlscache_coalesce_followers_total", "", 2, 5s));
  origin_.release("h");
  // Every client has its head once bytes flow; then the first client (the leader's) hangs up.
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (herd.heads() < 3 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(2ms);
  ASSERT_EQ(herd.heads(), 3u);
  herd.abandon(0);
  ASSERT_TRUE(herd.wait_finished(10s));
  auto rs = herd.results();
  EXPECT_EQ(rs[0].outcome, Outcome::closed);
  for (std::size_t i = 1; i < rs.size(); ++i) {
    ASSERT_EQ(rs[i].outcome, Outcome::response) << rs[i].describe();
    EXPECT_EQ(rs[i].body_bytes, body.size());
    EXPECT_EQ(rs[i].crc, crc32_of(body));
  }
  EXPECT_EQ(origin_.requests(path), 1u);
  auto hit = get(path);
  ASSERT_TRUE(hit.ok()) << hit.describe();
  EXPECT_EQ(hit.header("X-Cache").value_or(""), "HIT");
  EXPECT_TRUE(hit.body == body);
  EXPECT_EQ(origin_.requests(path), 1u);
}

TEST_F(EdgeCoalesceTest, FollowersPastTheBoundPerKeyGet503WithRetryAfter) {
  constexpr std::size_t kClients = 20, kMaxFollowers = 5;
  const std::string path = "/live/stream1/seg_20.ts";
  const std::string body = pattern_body(64 * 1024, 20);
  origin_.set(path, segment_reply(body, "h"));
  start(EdgeYaml().with_limits("max_followers_per_key: " + std::to_string(kMaxFollowers)));

  ClientHerd herd(port_, std::vector<std::string>(kClients, make_request("GET", path)),
                  ClientHerd::Options{.keep_body = 256});
  ASSERT_TRUE(herd.connect_all());
  herd.start();
  ASSERT_TRUE(origin_.wait_for_held("h", 1, 5s));
  // The one leader, five followers; everyone else is turned away at once, while the fetch is held.
  ASSERT_TRUE(wait_metric_at_least(port_, "hlscache_coalesce_rejected_total", "bound=\"followers_per_key\"",
                                   kClients - 1 - kMaxFollowers, 5s));
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (herd.heads() < kClients - 1 - kMaxFollowers && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  EXPECT_EQ(herd.heads(), kClients - 1 - kMaxFollowers) << "only the rejected clients are answered before release";
  origin_.release("h");
  ASSERT_TRUE(herd.wait_finished(10s));
  auto rs = herd.results();

  std::size_t ok = 0, rejected = 0;
  for (const auto& r : rs) {
    ASSERT_EQ(r.outcome, Outcome::response) << r.describe();
    if (r.status == 200) {
      ++ok;
      EXPECT_EQ(r.crc, crc32_of(body));
    } else {
      ++rejected;
      EXPECT_EQ(r.status, 503) << r.describe();
      EXPECT_TRUE(r.header("Retry-After").has_value()) << r.describe();
      EXPECT_EQ(r.header("Cache-Control").value_or(""), "no-store") << r.describe();
    }
  }
  EXPECT_EQ(ok, 1 + kMaxFollowers);
  EXPECT_EQ(rejected, kClients - 1 - kMaxFollowers);
  EXPECT_EQ(origin_.requests(path), 1u);
}

TEST_F(EdgeCoalesceTest, DistinctFetchesPastTheInflightBoundGet503) {
  origin_.set("/v/a.ts", segment_reply("aaaa", "h"));
  origin_.set("/v/b.ts", segment_reply("bbbb", "h"));
  origin_.set("/v/c.ts", segment_reply("cccc", "h"));
  start(EdgeYaml().with_limits("max_inflight_fetches: 2"));

  auto a = Connection::open(port_), b = Connection::open(port_);
  ASSERT_TRUE(a.send(make_request("GET", "/v/a.ts")));
  ASSERT_TRUE(b.send(make_request("GET", "/v/b.ts")));
  ASSERT_TRUE(origin_.wait_for_held("h", 2, 5s));

  auto c = get("/v/c.ts");
  ASSERT_TRUE(c.ok()) << c.describe();
  EXPECT_EQ(c.status, 503) << c.describe();
  EXPECT_TRUE(c.header("Retry-After").has_value()) << c.describe();
  EXPECT_EQ(origin_.requests("/v/c.ts"), 0u) << "a fetch over the bound must not reach the origin";
  EXPECT_EQ(edge_metric(port_, "hlscache_coalesce_rejected_total", "bound=\"inflight_fetches\"").value_or(-1), 1);

  origin_.release("h");
  auto ra = a.read_response(5s), rb = b.read_response(5s);
  ASSERT_TRUE(ra.ok() && rb.ok()) << ra.describe() << "\n" << rb.describe();
  EXPECT_EQ(ra.status, 200);
  EXPECT_EQ(ra.body, "aaaa");
  EXPECT_EQ(rb.body, "bbbb");

  // The bound counts fetches in flight, not fetches ever: now c goes through.
  ASSERT_TRUE(wait_metric(port_, "hlscache_coalesce_inflight", "", [](double v) { return v == 0; }, 2s));
  auto c2 = get("/v/c.ts");
  ASSERT_TRUE(c2.ok()) << c2.describe();
  EXPECT_EQ(c2.status, 200) << c2.describe();
  EXPECT_EQ(c2.body, "cccc");
  EXPECT_EQ(origin_.requests("/v/c.ts"), 1u);
}

}  // namespace
}  // namespace hlscache::test
