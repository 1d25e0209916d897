// LeaderSink (src/coalesce/leader_sink.*): the verdict published with the head
// (who else may use the answer), hit-for-miss marks, a 304 turned into the stored
// response it validated (RFC 9111 §4.3.4, fields updated per §3.2), a 304 about
// another representation, and the Date added when the upstream sent none.
#include <gtest/gtest.h>

#include "cache/vary.hpp"
#include "miss/leader_sink.hpp"
#include "fetch_test_util.hpp"

namespace hlscache {
namespace {

using namespace std::chrono_literals;
using namespace hlscache::test;

struct Rig {
  ManualClock clock;
  std::shared_ptr<Config> config = std::make_shared<Config>();
  FreshnessConfig& freshness = config->freshness;
  Coalescer coalescer{CoalescerLimits{}};
  FetchPtr fetch = std::make_shared<Fetch>(clock.now(), 30s, 1 << 20);

  std::shared_ptr<LeaderSink> sink(LeaderRequest r = {}) {
    if (r.key.empty()) r.key = "/a.ts";
    if (r.path.empty()) r.path = "/a.ts";
    return std::make_shared<LeaderSink>(fetch, std::move(r), config, coalescer, clock);
  }
};

ResponseHead head(int status, std::vector<Header> h) {
  ResponseHead rh;
  rh.status = status;
  rh.headers = std::move(h);
  return rh;
}

TEST(LeaderSink, AStorableAnswerIsSharedAndCarriesItsVaryValues) {
  Rig rig;
  LeaderRequest r;
  r.forwarded = {{"X-Tier", "gold"}};
  auto s = rig.sink(r);
  s->set_head(head(200, {{"Cache-Control", "max-age=60"}, {"Vary", "X-Tier"}}));
  auto rule = rig.fetch->share_rule();
  ASSERT_TRUE(rule);
  EXPECT_TRUE(rule->shared);
  EXPECT_EQ(rule->vary, (std::vector<std::string>{"x-tier"}));
  EXPECT_EQ(rule->leader_values, vary_values({"x-tier"}, {{"x-tier", "gold"}}));
  EXPECT_EQ(rig.coalescer.stats().uncacheable_marks, 0u);
}

TEST(LeaderSink, APrivateAnswerIsNotSharedAndMarksTheKeyHitForMiss) {
  for (std::string cc : {"private", "no-store", "no-cache"}) {
    SCOPED_TRACE(cc);
    Rig rig;
    auto s = rig.sink();
    s->set_head(head(200, {{"Cache-Control", cc}}));
    ASSERT_TRUE(rig.fetch->share_rule());
    EXPECT_FALSE(rig.fetch->share_rule()->shared);
    // The next miss on the key passes (its own fetch), until hit_for_miss is over.
    auto t = rig.coalescer.acquire("/a.ts", rig.clock.now(), nullptr);
    EXPECT_EQ(t.outcome, Coalescer::Outcome::pass);
    rig.coalescer.release_private();
    auto later = rig.coalescer.acquire("/a.ts", rig.clock.now() + rig.freshness.hit_for_miss, nullptr);
    EXPECT_EQ(later.outcome, Coalescer::Outcome::leader);
  }
}

TEST(LeaderSink, UpstreamErrorsAreSharedNotFetchedPerFollower) {
  Rig rig;
  auto s = rig.sink();
  s->set_head(head(503, {{"Retry-After", "1"}, {"Set-Cookie", "AWSALB=x"}}));
  EXPECT_TRUE(rig.fetch->share_rule()->shared);
  EXPECT_EQ(rig.fetch->share_rule()->strip, (std::vector<std::string>{"Set-Cookie"}));  // a balancer's cookie stays the leader's
  EXPECT_EQ(rig.coalescer.stats().uncacheable_marks, 0u);
}

TEST(LeaderSink, AnErrorThatIsSomeonesOwnIsNotShared) {
  for (std::string cc : {"private", "no-store"}) {
    SCOPED_TRACE(cc);
    Rig rig;
    auto s = rig.sink();
    s->set_head(head(500, {{"Cache-Control", cc}}));
    EXPECT_FALSE(rig.fetch->share_rule()->shared);
  }
}

// RFC 9111 §3.5 is about the leader's request, not the object: no hit-for-miss mark,
// and the key is released so the waiting requests can coalesce among themselves.
TEST(LeaderSink, AnAnswerRefusedForTheLeadersAuthorizationReleasesTheKey) {
  Rig rig;
  auto t = rig.coalescer.acquire("/a.ts", rig.clock.now(), nullptr);
  ASSERT_EQ(t.outcome, Coalescer::Outcome::leader);
  rig.fetch = t.fetch;
  LeaderRequest r;
  r.authorization = true;
  auto s = rig.sink(r);
  s->set_head(head(200, {{"Cache-Control", "max-age=60"}}));
  auto rule = rig.fetch->share_rule();
  EXPECT_FALSE(rule->shared);
  EXPECT_TRUE(rule->retry);
  EXPECT_EQ(rig.coalescer.stats().uncacheable_marks, 0u);
  auto next = rig.coalescer.acquire("/a.ts", rig.clock.now(), nullptr);
  EXPECT_EQ(next.outcome, Coalescer::Outcome::leader) << "the key was released at the head";
  rig.coalescer.finish("/a.ts", t.fetch);  // the first fetch's own finish is a no-op now
  EXPECT_EQ(rig.coalescer.acquire("/a.ts", rig.clock.now(), nullptr).outcome, Coalescer::Outcome::follower);
}

TEST(LeaderSink, SetCookieOfAPublicAnswerIsForTheLeaderOnly) {
  Rig rig;
  auto s = rig.sink();
  s->set_head(head(200, {{"Cache-Control", "public, max-age=60"}, {"Set-Cookie", "id=alice"}}));
  auto rule = rig.fetch->share_rule();
  EXPECT_TRUE(rule->shared);
  EXPECT_EQ(rule->strip, (std::vector<std::string>{"Set-Cookie"}));
}

TEST(LeaderSink, ADateIsAddedWhenTheUpstreamSentNone) {
  Rig rig;
  auto s = rig.sink();
  s->set_head(head(200, {}));
  EXPECT_FALSE(field_value(rig.fetch->head().headers, "Date").empty());
  EXPECT_TRUE(parse_http_date(field_value(rig.fetch->head().headers, "Date")).has_value());
}

ObjectPtr stored_object() {
  auto o = std::make_shared<Object>();
  o->status = 200;
  o->headers = {{"Content-Type", "video/mp2t"}, {"ETag", "\"v1\""}, {"Cache-Control", "max-age=10"},
                {"X-Old", "1"}, {"Content-Length", "5"}, {"Date", "Sun, 06 Nov 1994 08:49:37 GMT"}};
  o->etag = "\"v1\"";
  o->body.push_back(Chunk::copy_of("hello"));
  o->body_size = 5;
  return o;
}

TEST(LeaderSink, Rfc9111_4_3_4_A304PublishesTheStoredResponseWithUpdatedFields) {
  Rig rig;
  LeaderRequest r;
  r.validating = stored_object();
  auto s = rig.sink(r);
  s->set_head(head(304, {{"ETag", "\"v1\""}, {"Cache-Control", "max-age=60"}, {"Content-Length", "0"},
                         {"Date", "Sun, 06 Nov 1994 08:50:37 GMT"}}));
  s->complete();
  EXPECT_TRUE(s->not_modified());
  EXPECT_FALSE(s->validator_mismatch());
  auto h = rig.fetch->head();
  EXPECT_EQ(h.status, 200);  // never the 304: followers get the object
  EXPECT_EQ(field_value(h.headers, "Cache-Control"), "max-age=60");        // replaced
  EXPECT_EQ(field_count(h.headers, "Cache-Control"), 1u);
  EXPECT_EQ(field_value(h.headers, "X-Old"), "1");                         // kept
  EXPECT_EQ(field_value(h.headers, "Content-Length"), "5");                // framing stays the stored body's
  EXPECT_EQ(field_value(h.headers, "Date"), "Sun, 06 Nov 1994 08:50:37 GMT");
  EXPECT_EQ(rig.fetch->phase(), Fetch::Phase::complete);
  std::string body;
  for (const auto& c : rig.fetch->body_chunks()) body.append(c.view());
  EXPECT_EQ(body, "hello");
  EXPECT_EQ(rig.fetch->body_chunks().front().bytes, r.validating->body.front().bytes);  // shared, not copied
}

TEST(LeaderSink, Rfc9111_4_3_4_A304WithAnotherStrongETagValidatesNothing) {
  Rig rig;
  LeaderRequest r;
  r.validating = stored_object();
  auto s = rig.sink(r);
  s->set_head(head(304, {{"ETag", "\"v2\""}}));
  s->complete();
  EXPECT_TRUE(s->validator_mismatch());
  EXPECT_EQ(rig.fetch->phase(), Fetch::Phase::head_pending);  // nothing published: the caller refetches
  s->reset_for_unconditional();
  s->set_head(head(200, {{"ETag", "\"v2\""}}));
  s->append("world");
  s->complete();
  EXPECT_EQ(rig.fetch->phase(), Fetch::Phase::complete);
  EXPECT_EQ(rig.fetch->published(), 5u);
}

TEST(LeaderSink, Rfc9111_4_3_4_A304WithAnotherWeakETagValidatesNothingEither) {
  Rig rig;
  LeaderRequest r;
  r.validating = stored_object();
  auto s = rig.sink(r);
  s->set_head(head(304, {{"ETag", "W/\"v2\""}}));
  EXPECT_TRUE(s->validator_mismatch());
  Rig same;
  r.validating = stored_object();
  auto s2 = same.sink(r);
  s2->set_head(head(304, {{"ETag", "W/\"v1\""}}));  // the stored tag, weakened (e.g. by compression): it matches
  EXPECT_FALSE(s2->validator_mismatch());
  EXPECT_TRUE(s2->not_modified());
}

TEST(LeaderSink, TheRefetchAfterAMismatchCountsItsOwnDelay) {
  Rig rig;
  LeaderRequest r;
  r.validating = stored_object();
  auto s = rig.sink(r);
  rig.clock.advance(3s);
  s->set_head(head(304, {{"ETag", "\"v9\""}}));
  ASSERT_TRUE(s->validator_mismatch());
  s->reset_for_unconditional();
  rig.clock.advance(100ms);
  s->set_head(head(200, {}));
  EXPECT_EQ(s->response_delay(), 100ms);
}

TEST(LeaderSink, UpdateStoredFieldsKeepsFramingAndDropsAge) {
  const std::vector<Header> stored{{"A", "1"}, {"B", "1"}, {"b", "2"}, {"Content-Encoding", "gzip"}, {"Age", "9"}};
  const auto out = update_stored_fields(stored, {{"B", "3"}, {"Content-Encoding", "br"}, {"Age", "2"}});
  EXPECT_EQ(out, (std::vector<Header>{{"A", "1"}, {"Content-Encoding", "gzip"}, {"B", "3"}, {"Age", "2"}}));
}

}  // namespace
}  // namespace hlscache
