// The edge's side of the upstream connection (source/origin_attempt_h1.cpp): keep-alive
// connections are pooled and reused; an origin that closes after each answer, or a
// pooled connection the origin dropped while idle, costs a new connection and not a
// failed request; the origin's Keep-Alive timeout is honoured; bytes nobody asked for
// on an idle connection keep it from being used; what the origin is sent (Via,
// X-Forwarded-For, never the client's hop-by-hop headers); and a miss of unknown
// length framed for HTTP/1.1 (chunked) and HTTP/1.0 (close-delimited) clients.
#include <gtest/gtest.h>

#include "edge_test_util.hpp"

namespace hlscache::test {
namespace {

using EdgeUpstreamTest = EdgeTest;

OriginReply plain(std::string body) {
  OriginReply r;
  r.body = std::move(body);
  r.headers = {{"Content-Type", "video/mp2t"}};
  return r;
}

TEST_F(EdgeUpstreamTest, SequentialMissesReuseOneKeepAliveConnection) {
  for (const char* p : {"/k/1.ts", "/k/2.ts", "/k/3.ts"}) origin_.set(p, plain(p));
  start(EdgeYaml().with_threads(1));  // the pool is per thread: one thread, one pool
  for (const char* p : {"/k/1.ts", "/k/2.ts", "/k/3.ts"}) {
    auto r = get(p);
    ASSERT_TRUE(r.ok()) << r.describe();
    EXPECT_EQ(r.body, p);
  }
  EXPECT_EQ(origin_.connections_accepted(), 1u) << "upstream connections were not reused";
  EXPECT_EQ(origin_.total_requests(), 3u);
}

TEST_F(EdgeUpstreamTest, OriginThatClosesAfterEachAnswerStillServesEveryMiss) {
  for (const char* p : {"/c/1.ts", "/c/2.ts", "/c/3.ts"}) {
    auto r = plain(p);
    r.close = true;  // Connection: close, then close
    origin_.set(p, r);
  }
  start();
  for (const char* p : {"/c/1.ts", "/c/2.ts", "/c/3.ts"}) {
    auto r = get(p);
    ASSERT_TRUE(r.ok()) << r.describe();
    EXPECT_EQ(r.status, 200) << r.describe();
    EXPECT_EQ(r.body, p);
  }
  EXPECT_EQ(origin_.connections_accepted(), 3u);
}

TEST_F(EdgeUpstreamTest, PooledConnectionDroppedByTheOriginIsRetriedOnANewOne) {
  // A well-formed keep-alive answer after which the origin closes without saying so:
  // the edge pools the connection, and the next miss finds it dead.
  OriginReply sneaky;
  sneaky.raw = "HTTP/1.1 200 OK\r\nContent-Type: video/mp2t\r\nContent-Length: 5\r\n\r\nfirst";
  origin_.set("/s/1.ts", sneaky);
  origin_.set("/s/2.ts", plain("second"));
  start(EdgeYaml().with_threads(1));  // one thread, one pool: the second miss must take the dead connection

  auto a = get("/s/1.ts");
  ASSERT_TRUE(a.ok()) << a.describe();
  EXPECT_EQ(a.body, "first");
  std::this_thread::sleep_for(50ms);  // let the FIN arrive
  auto b = get("/s/2.ts");
  ASSERT_TRUE(b.ok()) << b.describe();
  EXPECT_EQ(b.status, 200) << b.describe();
  EXPECT_EQ(b.body, "second");
  EXPECT_EQ(origin_.connections_accepted(), 2u);
}

TEST_F(EdgeUpstreamTest, OriginKeepAliveTimeoutIsHonoured) {
  OriginReply r = plain("k");
  r.headers.emplace_back("Keep-Alive", "timeout=1");  // said, but the origin keeps connections open longer
  for (const char* p : {"/ka/1.ts", "/ka/2.ts", "/ka/3.ts"}) origin_.set(p, r);
  start(EdgeYaml().with_threads(1));
  ASSERT_TRUE(get("/ka/1.ts").ok());
  std::this_thread::sleep_for(100ms);
  ASSERT_TRUE(get("/ka/2.ts").ok());
  EXPECT_EQ(origin_.connections_accepted(), 1u) << "reused within the announced timeout";
  std::this_thread::sleep_for(900ms);  // past 1 s less its last quarter
  auto third = get("/ka/3.ts");
  ASSERT_TRUE(third.ok()) << third.describe();
  EXPECT_EQ(third.status, 200);
  EXPECT_EQ(origin_.connections_accepted(), 2u) << "the pool dropped the connection before the origin's timeout";
  EXPECT_EQ(edge_metric(port_, "hlscache_upstream_pool_discarded_total", "reason=\"expired\"").value_or(-1), 1);
}

TEST_F(EdgeUpstreamTest, UnsolicitedBytesOnAnIdlePooledConnectionKeepItFromBeingUsed) {
  OriginReply first = plain("first");
  // A whole response nobody asked for, after the answer: read as the next miss's answer it would be cached.
  first.after = "HTTP/1.1 200 OK\r\nContent-Type: video/mp2t\r\nContent-Length: 6\r\n\r\npoison";
  first.after_delay = 30ms;
  origin_.set("/un/1.ts", first);
  origin_.set("/un/2.ts", plain("second"));
  start(EdgeYaml().with_threads(1));
  auto a = get("/un/1.ts");
  ASSERT_TRUE(a.ok()) << a.describe();
  EXPECT_EQ(a.body, "first");
  std::this_thread::sleep_for(150ms);
  for (const char* cache : {"MISS", "HIT"}) {
    auto b = get("/un/2.ts");
    ASSERT_TRUE(b.ok()) << b.describe();
    EXPECT_EQ(b.status, 200) << b.describe();
    EXPECT_EQ(b.body, "second") << cache;
    EXPECT_EQ(b.header("X-Cache").value_or(""), cache);
  }
  EXPECT_EQ(origin_.connections_accepted(), 2u);
  EXPECT_EQ(edge_metric(port_, "hlscache_upstream_pool_discarded_total", "reason=\"unsolicited\"").value_or(-1), 1);
}

TEST_F(EdgeUpstreamTest, OriginIsSentViaAndForwardedForButNoClientHopByHopHeaders) {
  const std::string path = "/live/hop_req.ts";
  origin_.set(path, plain("x"));
  start();
  auto r = get(path, {{"Connection", "X-Secret"}, {"X-Secret", "1"}, {"Proxy-Authorization", "Basic Zm9vOmJhcg=="},
                      {"TE", "trailers"}, {"Upgrade", "h2c"}});
  ASSERT_TRUE(r.ok()) << r.describe();
  auto log = origin_.log();
  ASSERT_EQ(log.size(), 1u);
  const auto& seen = log[0];
  EXPECT_EQ(seen.method, "GET");
  EXPECT_EQ(seen.target, path);
  for (const char* h : {"X-Secret", "Proxy-Authorization", "TE", "Upgrade"})
    EXPECT_FALSE(seen.header(h).has_value()) << h << " reached the origin";
  EXPECT_NE(seen.header("Connection").value_or("").find("keep-alive"), std::string::npos);
  EXPECT_NE(seen.header("Via").value_or("").find("edge-it"), std::string::npos);
  EXPECT_EQ(seen.header("X-Forwarded-For").value_or(""), "127.0.0.1");
  EXPECT_EQ(seen.header("Host").value_or(""), "127.0.0.1:" + std::to_string(origin_.port()));
}

TEST_F(EdgeUpstreamTest, MissOfUnknownLengthIsChunkedForHttp11AndCloseDelimitedForHttp10) {
  const std::string body = pattern_body(50 * 1000, 12);
  auto chunked = plain(body);
  chunked.chunked = true;
  chunked.slow_chunk = 16 * 1000;
  origin_.set("/u/11.ts", chunked);
  origin_.set("/u/10.ts", chunked);
  start();

  auto r11 = get("/u/11.ts");
  ASSERT_TRUE(r11.ok()) << r11.describe();
  EXPECT_EQ(r11.header("Transfer-Encoding").value_or(""), "chunked") << r11.describe();
  EXPECT_FALSE(r11.has_header("Content-Length"));
  EXPECT_TRUE(r11.body == body);

  auto r10 = send_raw(port_, "GET /u/10.ts HTTP/1.0\r\n\r\n", 5s);
  ASSERT_TRUE(r10.ok()) << r10.describe();
  EXPECT_EQ(r10.status, 200);
  EXPECT_FALSE(r10.has_header("Transfer-Encoding")) << "HTTP/1.0 has no chunked coding:\n" << r10.describe();
  EXPECT_EQ(r10.header("Connection").value_or(""), "close");
  EXPECT_TRUE(r10.body == body);

  // Once stored, the length is known.
  auto hit = get("/u/11.ts");
  ASSERT_TRUE(hit.ok());
  EXPECT_EQ(hit.header("X-Cache").value_or(""), "HIT");
  EXPECT_EQ(hit.header("Content-Length").value_or(""), std::to_string(body.size()));
}

}  // namespace
}  // namespace hlscache::test
