// Interim (1xx) responses from an HTTP/1.1 origin, through the edge (the daemon in
// front of FakeOrigin, one thread so every miss shares one upstream connection pool).
// The poisoning seen before: an origin answering /early1 with 103 then 200 made the
// edge take the 103 as the answer, leave the 200 unread on the pooled connection and
// serve (and cache) it as the answer to the next miss. Now every 1xx is read past to
// the final response on the same connection, so each path's answer and cached copy
// are its own; a 101 (never asked for) is a 502, not someone else's answer. The
// origin's 103 Early Hints reach the client before the final answer; a hit carries none.
#include <gtest/gtest.h>

#include "edge_test_util.hpp"

namespace hlscache::test {
namespace {

using EdgeInterimTest = EdgeTest;

constexpr const char* kEarlyHints = "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n";
constexpr const char* kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr const char* kProcessing = "HTTP/1.1 102 Processing\r\n\r\n";

OriginReply body(std::string b) {
  OriginReply r;
  r.body = std::move(b);
  r.headers = {{"Content-Type", "video/mp2t"}, {"Cache-Control", "max-age=60"}};
  return r;
}

void expect_body(const HttpResponse& r, const std::string& want, const char* cache) {
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.body, want) << r.describe();
  EXPECT_EQ(r.header("X-Cache").value_or(""), cache) << r.describe();
}

TEST_F(EdgeInterimTest, InterimResponsesNeverPoisonTheCache) {
  struct Case {
    const char* name;
    std::vector<std::string> interim;
  };
  const std::vector<Case> cases = {
      {"103", {kEarlyHints}},
      {"100", {kContinue}},
      {"102", {kProcessing}},
      {"several", {kContinue, kProcessing, kEarlyHints, kEarlyHints}},
  };
  for (const auto& c : cases) {
    const std::string p = std::string("/i/") + c.name;
    OriginReply early = body("A1-" + std::string(c.name));
    early.interim = c.interim;
    early.interim_pause = 20ms;  // the final response comes in a later read than the 1xx
    origin_.set(p + "/early1", early);
    origin_.set(p + "/a", body("A-" + std::string(c.name)));
    origin_.set(p + "/b", body("B-" + std::string(c.name)));
  }
  start(EdgeYaml().with_threads(1));
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string p = std::string("/i/") + c.name, n = c.name;
    auto first = get(p + "/early1");
    expect_body(first, "A1-" + n, "MISS");
    std::size_t hints = 0;
    for (const auto& i : first.interim) {
      EXPECT_EQ(i.status, 103) << "only 103 is passed on";
      ++hints;
      ASSERT_EQ(i.headers.size(), 1u);
      EXPECT_EQ(i.headers[0].second, "</a.css>; rel=preload");
    }
    EXPECT_EQ(hints, n == "103" ? 1u : n == "several" ? 2u : 0u);
    expect_body(get(p + "/a"), "A-" + n, "MISS");
    expect_body(get(p + "/b"), "B-" + n, "MISS");
    // The stored copies are each path's own.
    auto hit = get(p + "/early1");
    expect_body(hit, "A1-" + n, "HIT");
    EXPECT_TRUE(hit.interim.empty()) << "nothing of a 1xx is stored";
    expect_body(get(p + "/a"), "A-" + n, "HIT");
    expect_body(get(p + "/b"), "B-" + n, "HIT");
    EXPECT_EQ(origin_.requests(p + "/a"), 1u);
  }
  EXPECT_EQ(origin_.connections_accepted(), 1u) << "every exchange left the connection reusable";
}

TEST_F(EdgeInterimTest, SwitchingProtocolsIsA502NotAMixedUpAnswer) {
  OriginReply upgrade = body("never an answer");
  upgrade.interim = {"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"};
  origin_.set("/u/101", upgrade);
  origin_.set("/u/next", body("next"));
  start(EdgeYaml().with_threads(1));
  auto r = get("/u/101");
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.status, 502) << r.describe();
  EXPECT_EQ(r.body.find("never an answer"), std::string::npos);
  expect_body(get("/u/next"), "next", "MISS");
  expect_body(get("/u/next"), "next", "HIT");
}

}  // namespace
}  // namespace hlscache::test
