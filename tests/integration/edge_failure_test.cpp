// Upstream failures through the real edge daemon (docs/design.md "The life of a request",
// step 7: "on failure every follower gets the same clean error (502/504) and nothing
// partial is cached"): a body cut mid-way reaches every waiting client as a
// truncated response, never as a complete-looking short one; silence is a 504 at
// timeouts.upstream_first_byte; refused connections and garbage are 502; 5xx is not
// cached; 404 is cached for freshness.negative_ttl and coalesced like anything else.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "edge_test_util.hpp"

namespace hlscache::test {
namespace {

class EdgeFailureTest : public EdgeTest {
 protected:
  // `clients` GETs of `path`, coalesced on one fetch that the origin parks at `hold`
  // until all of them wait on it, then released: what each client saw.
  void herd_on_held_fetch(const std::string& path, std::size_t clients, const std::string& hold,
                          std::vector<HerdResult>& out) {
    ClientHerd herd(port_, std::vector<std::string>(clients, make_request("GET", path)));
    ASSERT_TRUE(herd.connect_all());
    herd.start();
    ASSERT_TRUE(origin_.wait_for_held(hold, 1, 5s));
    ASSERT_TRUE(wait_metric_at_least(port_, "hlscache_coalesce_followers_total", "", clients - 1, 5s));
    origin_.release(hold);
    ASSERT_TRUE(herd.wait_finished(10s));
    out = herd.results();
  }
  // After a failed fetch: with the origin now answering `body` whole, the next GET is a
  // MISS that goes upstream and gets it all (nothing partial was stored).
  void expect_refetched_whole(const std::string& path, const std::string& body) {
    OriginReply whole;
    whole.headers = {{"Content-Type", "video/mp2t"}};
    whole.body = body;
    origin_.set(path, whole);
    auto again = get(path);
    ASSERT_TRUE(again.ok()) << again.describe();
    EXPECT_EQ(again.status, 200);
    EXPECT_EQ(again.header("X-Cache").value_or(""), "MISS") << "a cut body must not be cached";
    EXPECT_TRUE(again.body == body);
  }
};
using Clock = std::chrono::steady_clock;

// A loopback port nothing listens on (bound once by us, then released).
std::uint16_t unused_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  ::close(fd);
  return ntohs(sa.sin_port);
}

// Every waiting client saw the cut: either its 200 ended (connection closed) before the
// declared body did, or — a follower that had not been sent the head when the fetch
// failed — it got a clean, complete 502. Never a complete-looking 200.
void expect_all_cut(const std::vector<HerdResult>& rs, std::size_t full_size) {
  std::size_t truncated = 0;
  for (std::size_t i = 0; i < rs.size(); ++i) {
    const auto& r = rs[i];
    if (r.outcome == Outcome::response) {
      EXPECT_EQ(r.status, 502) << "client " << i << " saw a complete-looking response: " << r.describe();
      continue;
    }
    ++truncated;
    EXPECT_TRUE(r.outcome == Outcome::closed || r.outcome == Outcome::reset) << "client " << i << ": " << r.describe();
    EXPECT_EQ(r.status, 200) << "client " << i << ": " << r.describe();
    EXPECT_LT(r.body_bytes, full_size) << "client " << i;
    if (!r.chunked) {
      EXPECT_EQ(r.content_length.value_or(0), full_size) << "client " << i << ": the full length is declared";
    }
  }
  EXPECT_GT(truncated, 0u) << "the cut came before any client got the head: the test proves little";
}

TEST_F(EdgeFailureTest, BodyCutMidwayTruncatesEveryClientAndIsNotCached) {
  const std::string path = "/live/cut.ts";
  const std::string body = pattern_body(256 * 1024, 3);
  OriginReply cut;
  cut.headers = {{"Content-Type", "video/mp2t"}};
  cut.body = body;
  cut.cut_after = 100 * 1024;
  cut.slow_chunk = 32 * 1024;  // a few pieces before the cut, so every client has the head by then
  cut.slow_interval = 20ms;
  cut.hold = "cut";
  origin_.set(path, cut);
  start();

  constexpr std::size_t kClients = 5;
  std::vector<HerdResult> rs;
  ASSERT_NO_FATAL_FAILURE(herd_on_held_fetch(path, kClients, "cut", rs));
  expect_all_cut(rs, body.size());
  EXPECT_EQ(origin_.requests(path), 1u);

  // Nothing partial was stored: the next request goes upstream again (and now succeeds).
  ASSERT_NO_FATAL_FAILURE(expect_refetched_whole(path, body));
  EXPECT_EQ(origin_.requests(path), 2u);
  auto hit = get(path);
  ASSERT_TRUE(hit.ok()) << hit.describe();
  EXPECT_EQ(hit.header("X-Cache").value_or(""), "HIT");
  EXPECT_TRUE(hit.body == body);
}

TEST_F(EdgeFailureTest, ChunkedBodyCutMidwayEndsWithoutTheLastChunk) {
  const std::string path = "/live/cut_chunked.ts";
  const std::string body = pattern_body(200 * 1024, 4);
  OriginReply cut;
  cut.headers = {{"Content-Type", "video/mp2t"}};
  cut.body = body;
  cut.chunked = true;  // no length upstream: the edge frames its answer chunked
  cut.slow_chunk = 32 * 1024;
  cut.slow_interval = 20ms;
  cut.cut_after = 80 * 1024;
  cut.hold = "cut";
  origin_.set(path, cut);
  start();

  std::vector<HerdResult> rs;
  ASSERT_NO_FATAL_FAILURE(herd_on_held_fetch(path, 3, "cut", rs));
  for (const auto& r : rs) {
    if (r.status == 200) {
      EXPECT_TRUE(r.chunked) << r.describe();
    }
  }
  expect_all_cut(rs, body.size());
  EXPECT_EQ(origin_.requests(path), 1u);

  auto again = get(path);
  ASSERT_TRUE(!again.ok() || again.header("X-Cache").value_or("") == "MISS") << again.describe();
  EXPECT_EQ(origin_.requests(path), 2u) << "a cut body must not be cached";
}

// The head and the start of the body arrive together and the connection then drops:
// the edge wakes the waiting clients only once the bytes already there are published
// (Fetch::Wake), so the failure is known before any of them was sent a byte, and each
// gets a complete 502 instead of a 200 cut after its head. One thread: the leader's
// read, the failure and the followers' turn run in that order.
TEST_F(EdgeFailureTest, CutBeforeAnyByteReachedAClientIsACleanBadGatewayForAll) {
  const std::string path = "/live/cut_at_once.ts";
  const std::string body = pattern_body(100 * 1024, 5);
  OriginReply cut;  // the head and 4000 of the 100 KiB declared, in one write, then the close
  cut.raw = "HTTP/1.1 200 OK\r\nContent-Type: video/mp2t\r\nContent-Length: " + std::to_string(body.size()) +
            "\r\n\r\n" + body.substr(0, 4000);
  cut.hold = "cut";
  origin_.set(path, cut);
  start(EdgeYaml().with_threads(1));

  constexpr std::size_t kClients = 4;
  std::vector<HerdResult> rs;
  ASSERT_NO_FATAL_FAILURE(herd_on_held_fetch(path, kClients, "cut", rs));
  for (const auto& r : rs) {
    EXPECT_EQ(r.outcome, Outcome::response) << r.describe();
    EXPECT_EQ(r.status, 502) << r.describe();
  }
  EXPECT_EQ(origin_.requests(path), 1u);
  ASSERT_NO_FATAL_FAILURE(expect_refetched_whole(path, body));
}

// The upstream sends its head, says nothing for 300 ms, and closes before any body
// byte: no client has been sent anything meanwhile (a response head goes out with the
// first body bytes), so every one of them gets a complete 502 rather than a 200 cut
// after its head.
TEST_F(EdgeFailureTest, HeadThenCloseBeforeAnyBodyIsACleanBadGatewayForAll) {
  const std::string path = "/live/head_only.ts";
  OriginReply cut;
  cut.headers = {{"Content-Type", "video/mp2t"}};
  cut.body = pattern_body(100 * 1024, 6);
  cut.cut_after = 0;
  cut.pause_after_head = 300ms;
  cut.hold = "cut";
  origin_.set(path, cut);
  start();  // two threads: followers on both

  std::vector<HerdResult> rs;
  ASSERT_NO_FATAL_FAILURE(herd_on_held_fetch(path, 6, "cut", rs));
  for (const auto& r : rs) {
    EXPECT_EQ(r.outcome, Outcome::response) << r.describe();
    EXPECT_EQ(r.status, 502) << r.describe();
  }
  EXPECT_EQ(origin_.requests(path), 1u);
}

TEST_F(EdgeFailureTest, SilentOriginIs504AfterUpstreamFirstByteTimeout) {
  const std::string path = "/live/silent.ts";
  OriginReply silent;
  silent.never_answer = true;
  origin_.set(path, silent);
  start(EdgeYaml().with_timeouts("upstream_first_byte: 500ms"));

  constexpr std::size_t kClients = 4;
  ClientHerd herd(port_, std::vector<std::string>(kClients, make_request("GET", path)));
  ASSERT_TRUE(herd.connect_all());
  const auto t0 = Clock::now();
  herd.start();
  ASSERT_TRUE(herd.wait_finished(10s));
  auto rs = herd.results();
  for (const auto& r : rs) {
    ASSERT_EQ(r.outcome, Outcome::response) << r.describe();
    EXPECT_EQ(r.status, 504) << r.describe();
    EXPECT_EQ(r.header("Cache-Control").value_or(""), "no-store");
    const double ms = ms_between(t0, r.done_at);
    EXPECT_GE(ms, 400) << "answered before the first-byte deadline";
    EXPECT_LT(ms, 3000) << "the first-byte deadline (500 ms) was not kept";
  }
  EXPECT_EQ(origin_.requests(path), 1u) << "the waiting clients share one upstream attempt";

  // A timeout is not cached either: the next request tries the origin again.
  auto again = get(path);
  ASSERT_TRUE(again.ok()) << again.describe();
  EXPECT_EQ(again.status, 504);
  EXPECT_EQ(origin_.requests(path), 2u);
}

TEST_F(EdgeFailureTest, OriginStallingMidBodyTruncatesAtUpstreamIdle) {
  const std::string path = "/live/stall.ts";
  OriginReply stall;
  stall.headers = {{"Content-Type", "video/mp2t"}};
  stall.body = pattern_body(100 * 1000, 6);
  stall.slow_chunk = 30 * 1000;
  stall.slow_interval = 1500ms;  // far past upstream_idle between pieces
  origin_.set(path, stall);
  start(EdgeYaml().with_timeouts("upstream_idle: 300ms"));

  const auto t0 = Clock::now();
  auto r = get(path, {}, 5s);
  EXPECT_LT(ms_between(t0, Clock::now()), 1400) << "the idle deadline between body pieces was not kept";
  EXPECT_EQ(r.outcome, Outcome::closed) << r.describe();
  EXPECT_NE(r.received.find("Content-Length: 100000"), std::string::npos) << r.describe();
  EXPECT_LT(r.received.size(), 100000u);

  OriginReply whole = stall;
  whole.slow_chunk = 0;
  origin_.set(path, whole);
  auto again = get(path);
  ASSERT_TRUE(again.ok()) << again.describe();
  EXPECT_EQ(again.header("X-Cache").value_or(""), "MISS") << "a stalled body must not be cached";
  EXPECT_EQ(origin_.requests(path), 2u);
}

TEST_F(EdgeFailureTest, WaitersGet504AtFollowerWaitButTheFetchGoesOnAndIsStored) {
  const std::string path = "/live/late.ts";
  OriginReply late;
  late.headers = {{"Content-Type", "video/mp2t"}};
  late.body = "late but fine";
  late.hold = "late";
  origin_.set(path, late);
  start(EdgeYaml().with_timeouts("follower_wait: 300ms"));

  ClientHerd herd(port_, std::vector<std::string>(3, make_request("GET", path)));
  ASSERT_TRUE(herd.connect_all());
  const auto t0 = Clock::now();
  herd.start();
  ASSERT_TRUE(herd.wait_finished(5s));
  for (const auto& r : herd.results()) {
    ASSERT_EQ(r.outcome, Outcome::response) << r.describe();
    EXPECT_EQ(r.status, 504) << r.describe();
    EXPECT_GE(ms_between(t0, r.done_at), 250);
    EXPECT_LT(ms_between(t0, r.done_at), 2000) << "timeouts.follower_wait (300 ms) was not kept";
  }
  // The fetch belongs to the coalescer, not to the clients that gave up: it completes and is stored.
  origin_.release("late");
  ASSERT_TRUE(wait_metric(port_, "hlscache_coalesce_inflight", "", [](double v) { return v == 0; }, 3s));
  auto hit = get(path);
  ASSERT_TRUE(hit.ok()) << hit.describe();
  EXPECT_EQ(hit.status, 200);
  EXPECT_EQ(hit.header("X-Cache").value_or(""), "HIT") << hit.describe();
  EXPECT_EQ(hit.body, "late but fine");
  EXPECT_EQ(origin_.requests(path), 1u);
}

TEST_F(EdgeFailureTest, BodyOverMaxObjectBytesFailsTheFetchAndIsNotCached) {
  // docs/configuration.md: "an upstream body larger fails the fetch (clients see a truncated response)".
  const std::string path = "/vod/huge.ts";
  OriginReply big;
  big.headers = {{"Content-Type", "video/mp2t"}};
  big.body = pattern_body(200 * 1024, 13);
  origin_.set(path, big);
  start(EdgeYaml().with_limits("max_object_bytes: 64KiB"));

  for (int i = 1; i <= 2; ++i) {
    auto r = get(path);
    if (r.ok()) {
      // The fetch failed before this client's session took the head: a clean error instead.
      EXPECT_EQ(r.status, 502) << "a body over the bound must not look complete: " << r.describe();
    } else {
      EXPECT_TRUE(r.outcome == Outcome::closed || r.outcome == Outcome::reset) << r.describe();
      EXPECT_NE(r.received.find("Content-Length: 204800"), std::string::npos) << r.describe();
      EXPECT_LT(r.received.size(), 204800u);
    }
    EXPECT_EQ(origin_.requests(path), static_cast<std::size_t>(i)) << "nothing was stored";
  }
}

TEST_F(EdgeFailureTest, RefusedConnectionIs502) {
  start(EdgeYaml().with_upstream_port(unused_port()));
  const auto t0 = Clock::now();
  auto r = get("/live/seg_1.ts");
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.status, 502) << r.describe();
  EXPECT_EQ(r.header("Cache-Control").value_or(""), "no-store");
  EXPECT_LT(ms_between(t0, Clock::now()), 2000);
  // Still 502 the second time (nothing cached, the edge keeps serving).
  auto r2 = get("/live/seg_1.ts");
  ASSERT_TRUE(r2.ok()) << r2.describe();
  EXPECT_EQ(r2.status, 502);
}

TEST_F(EdgeFailureTest, GarbageFromTheOriginIs502) {
  OriginReply garbage;
  garbage.raw = "this is not HTTP at all\r\n\r\n";
  origin_.set("/live/garbage.ts", garbage);
  OriginReply bad_length;
  bad_length.raw = "HTTP/1.1 200 OK\r\nContent-Length: twelve\r\n\r\nhello";
  origin_.set("/live/bad_length.ts", bad_length);
  start();

  for (const char* path : {"/live/garbage.ts", "/live/bad_length.ts"}) {
    auto r = get(path);
    ASSERT_TRUE(r.ok()) << path << ": " << r.describe();
    EXPECT_EQ(r.status, 502) << path << ": " << r.describe();
    EXPECT_EQ(origin_.requests(path), 1u) << path;
  }
}

// A 5xx is forwarded; it is stored only when the origin gives it explicit freshness
// (RFC 9111 §3: 5xx codes are not heuristically cacheable).
TEST_F(EdgeFailureTest, ServerErrorsAreForwardedAndStoredOnlyWithExplicitFreshness) {
  OriginReply err;
  err.status = 500;
  err.headers = {{"Content-Type", "text/plain"}};
  err.body = "origin broke\n";
  origin_.set("/live/e500.ts", err);
  err.status = 503;
  err.headers.emplace_back("Cache-Control", "max-age=60");
  origin_.set("/live/e503.ts", err);
  start();

  for (const char* path : {"/live/e500.ts", "/live/e503.ts"}) {
    const bool explicit_freshness = std::string(path) == "/live/e503.ts";
    for (int i = 0; i < 2; ++i) {
      auto r = get(path);
      ASSERT_TRUE(r.ok()) << r.describe();
      EXPECT_EQ(r.status, explicit_freshness ? 503 : 500) << r.describe();
      EXPECT_EQ(r.body, "origin broke\n");
      EXPECT_EQ(r.header("X-Cache").value_or(""), explicit_freshness && i == 1 ? "HIT" : "MISS") << r.describe();
    }
    EXPECT_EQ(origin_.requests(path), explicit_freshness ? 1u : 2u) << path;
  }
}

TEST_F(EdgeFailureTest, NotFoundHerdIsCoalescedAndCachedForTheNegativeTtl) {
  const std::string path = "/live/missing.ts";
  OriginReply nf;
  nf.status = 404;
  nf.headers = {{"Content-Type", "text/plain"}};
  nf.body = "no such segment\n";
  nf.hold = "nf";
  origin_.set(path, nf);
  start(EdgeYaml().with_freshness("negative_ttl: 1s"));

  constexpr std::size_t kClients = 50;
  ClientHerd herd(port_, std::vector<std::string>(kClients, make_request("GET", path)),
                  ClientHerd::Options{.connect_timeout = 5s, .run_timeout = 20s, .keep_body = 64});
  ASSERT_TRUE(herd.connect_all());
  herd.start();
  ASSERT_TRUE(origin_.wait_for_held("nf", 1, 5s));
  ASSERT_TRUE(wait_metric_at_least(port_, "hlscache_coalesce_followers_total", "", kClients - 1, 5s));
  origin_.release("nf");
  ASSERT_TRUE(herd.wait_finished(10s));
  const auto stored = Clock::now();
  auto rs = herd.results();
  for (const auto& r : rs) {
    ASSERT_EQ(r.outcome, Outcome::response) << r.describe();
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.body, "no such segment\n");
  }
  EXPECT_EQ(origin_.requests(path), 1u);

  // Within the negative TTL: answered from cache.
  for (int i = 0; i < 3; ++i) {
    auto r = get(path);
    ASSERT_TRUE(r.ok()) << r.describe();
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.header("X-Cache").value_or(""), "HIT") << r.describe();
  }
  ASSERT_LT(ms_between(stored, Clock::now()), 900) << "too slow to check inside the negative TTL";
  EXPECT_EQ(origin_.requests(path), 1u);

  // After it: upstream again.
  std::this_thread::sleep_until(stored + 1300ms);
  auto later = get(path);
  ASSERT_TRUE(later.ok()) << later.describe();
  EXPECT_EQ(later.status, 404);
  EXPECT_EQ(later.header("X-Cache").value_or(""), "MISS") << later.describe();
  EXPECT_EQ(origin_.requests(path), 2u);
}

}  // namespace
}  // namespace hlscache::test
