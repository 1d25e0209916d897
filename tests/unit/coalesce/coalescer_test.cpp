// Coalescer: per key one Leader and its Followers on the same Fetch, the re-check
// that turns a late miss into a hit, both bounds (followers per key, fetches in
// flight), and exactly one origin request however many threads miss at once.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <barrier>
#include <map>
#include <mutex>
#include <thread>

#include "coalesce/coalescer.hpp"
#include "fetch_test_util.hpp"

namespace hlscache {
namespace {

using namespace hlscache::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using Outcome = Coalescer::Outcome;

const TimePoint t0 = TimePoint{} + std::chrono::hours(1);

CoalescerLimits limits(std::uint32_t followers = 10'000, std::uint32_t inflight = 1024) {
  CoalescerLimits l;
  l.max_followers_per_key = followers;
  l.max_inflight = inflight;
  l.follower_wait = kLongWait;
  return l;
}

ObjectPtr make_object(std::string body) {
  auto o = std::make_shared<Object>();
  o->body.push_back(Chunk::copy_of(body));
  o->body_size = body.size();
  return o;
}

// A stand-in for the cache: what leaders insert before they finish().
class FakeCache {
 public:
  void insert(const std::string& key, ObjectPtr o) {
    std::lock_guard lock(mu_);
    objects_[key] = std::move(o);
  }
  ObjectPtr find(const std::string& key) const {
    std::lock_guard lock(mu_);
    auto it = objects_.find(key);
    return it == objects_.end() ? nullptr : it->second;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, ObjectPtr> objects_;
};

TEST(Coalescer, FirstMissLeadsLaterMissesFollowTheSameFetch) {
  Coalescer c(limits());
  auto a = c.acquire("/s/seg_1.ts", t0, nullptr);
  ASSERT_EQ(a.outcome, Outcome::leader);
  ASSERT_TRUE(a.fetch);
  EXPECT_FALSE(a.object);
  EXPECT_EQ(a.fetch->created(), t0);
  EXPECT_EQ(a.fetch->phase(), Fetch::Phase::head_pending);

  auto b = c.acquire("/s/seg_1.ts", t0 + 1ms, nullptr);
  auto d = c.acquire("/s/seg_1.ts", t0 + 2ms, nullptr);
  EXPECT_EQ(b.outcome, Outcome::follower);
  EXPECT_EQ(d.outcome, Outcome::follower);
  EXPECT_EQ(b.fetch, a.fetch);
  EXPECT_EQ(d.fetch, a.fetch);

  auto other = c.acquire("/s/seg_2.ts", t0, nullptr);  // another key: its own leader
  EXPECT_EQ(other.outcome, Outcome::leader);
  EXPECT_NE(other.fetch, a.fetch);

  auto s = c.stats();
  EXPECT_EQ(s.leaders, 2u);
  EXPECT_EQ(s.followers, 2u);
  EXPECT_EQ(s.inflight, 2u);

  c.finish("/s/seg_1.ts", a.fetch);
  EXPECT_EQ(c.stats().inflight, 1u);
  auto again = c.acquire("/s/seg_1.ts", t0 + 1s, nullptr);
  EXPECT_EQ(again.outcome, Outcome::leader);
  EXPECT_NE(again.fetch, a.fetch);
  EXPECT_EQ(again.fetch->created(), t0 + 1s);
  EXPECT_EQ(c.stats().leaders, 3u);
}

TEST(Coalescer, TheFetchCarriesTheConfiguredBounds) {
  CoalescerLimits l = limits();
  l.follower_wait = 50ms;
  l.max_body = 100;
  asio::io_context io;  // outlives the fetch: a timed-out reader's timer stays registered in it
  Coalescer c(l);
  auto a = c.acquire("k", t0, nullptr);
  ASSERT_EQ(a.outcome, Outcome::leader);
  a.fetch->set_head(head_200());
  EXPECT_EQ(a.fetch->writable().second, 100u);

  // The follower deadline is the configured one.
  ReadOutcome r;
  spawn_reader(io, a.fetch, r);
  const auto start = SteadyClock::now();
  io.run();
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->code, Errc::timeout);
  EXPECT_LT(SteadyClock::now() - start, 2s);
}

TEST(Coalescer, RecheckFindingAnObjectIsAFreshHitAndCreatesNoEntry) {
  Coalescer c(limits());
  ObjectPtr stored = make_object("cached");
  int calls = 0;
  auto t = c.acquire("k", t0, [&] { ++calls; return stored; });
  EXPECT_EQ(t.outcome, Outcome::fresh_hit);
  EXPECT_EQ(t.object, stored);
  EXPECT_FALSE(t.fetch);
  EXPECT_EQ(calls, 1);
  auto s = c.stats();
  EXPECT_EQ(s.inflight, 0u);
  EXPECT_EQ(s.leaders, 0u);

  // No entry was left behind: the next miss leads.
  auto l = c.acquire("k", t0, [&] { ++calls; return ObjectPtr{}; });
  EXPECT_EQ(l.outcome, Outcome::leader);
  EXPECT_EQ(calls, 2);
  // While a fetch is in flight the recheck is not consulted: followers join it.
  auto f = c.acquire("k", t0, [&] { ++calls; return stored; });
  EXPECT_EQ(f.outcome, Outcome::follower);
  EXPECT_EQ(f.fetch, l.fetch);
  EXPECT_EQ(calls, 2);
}

TEST(Coalescer, FollowersPerKeyAreBounded) {
  Coalescer c(limits(/*followers=*/2));
  auto a = c.acquire("k", t0, nullptr);
  ASSERT_EQ(a.outcome, Outcome::leader);
  EXPECT_EQ(c.acquire("k", t0, nullptr).outcome, Outcome::follower);
  EXPECT_EQ(c.acquire("k", t0, nullptr).outcome, Outcome::follower);
  auto over = c.acquire("k", t0, nullptr);
  EXPECT_EQ(over.outcome, Outcome::overloaded);
  EXPECT_FALSE(over.fetch);
  EXPECT_EQ(c.acquire("k", t0, nullptr).outcome, Outcome::overloaded);
  EXPECT_EQ(c.acquire("other", t0, nullptr).outcome, Outcome::leader);  // per key

  auto s = c.stats();
  EXPECT_EQ(s.followers, 2u);
  EXPECT_EQ(s.rejected_followers, 2u);
  EXPECT_EQ(s.rejected_inflight, 0u);

  c.finish("k", a.fetch);  // a new fetch starts with no followers
  ASSERT_EQ(c.acquire("k", t0, nullptr).outcome, Outcome::leader);
  EXPECT_EQ(c.acquire("k", t0, nullptr).outcome, Outcome::follower);
}

TEST(Coalescer, FetchesInFlightAreBounded) {
  Coalescer c(limits(10'000, /*inflight=*/2));
  auto a = c.acquire("a", t0, nullptr);
  auto b = c.acquire("b", t0, nullptr);
  ASSERT_EQ(a.outcome, Outcome::leader);
  ASSERT_EQ(b.outcome, Outcome::leader);
  EXPECT_EQ(c.acquire("c", t0, nullptr).outcome, Outcome::overloaded);
  EXPECT_EQ(c.acquire("a", t0, nullptr).outcome, Outcome::follower);  // joining costs no new fetch
  // The bound is checked after the recheck: a hit is still served at the bound.
  EXPECT_EQ(c.acquire("c", t0, [] { return make_object("x"); }).outcome, Outcome::fresh_hit);

  auto s = c.stats();
  EXPECT_EQ(s.rejected_inflight, 1u);
  EXPECT_EQ(s.rejected_followers, 0u);
  EXPECT_EQ(s.inflight, 2u);
  EXPECT_EQ(s.leaders, 2u);

  c.finish("a", a.fetch);
  EXPECT_EQ(c.acquire("c", t0, nullptr).outcome, Outcome::leader);
  EXPECT_EQ(c.stats().inflight, 2u);
}

TEST(Coalescer, FinishWithAnotherFetchLeavesTheCurrentEntry) {
  Coalescer c(limits());
  auto old = c.acquire("k", t0, nullptr);
  c.finish("k", old.fetch);
  auto cur = c.acquire("k", t0, nullptr);
  ASSERT_EQ(cur.outcome, Outcome::leader);

  c.finish("k", old.fetch);  // a late, duplicate finish from the previous leader
  c.finish("k", nullptr);
  c.finish("unknown", cur.fetch);
  EXPECT_EQ(c.stats().inflight, 1u);
  auto f = c.acquire("k", t0, nullptr);
  EXPECT_EQ(f.outcome, Outcome::follower);
  EXPECT_EQ(f.fetch, cur.fetch);

  c.finish("k", cur.fetch);
  c.finish("k", cur.fetch);  // twice: counted once
  EXPECT_EQ(c.stats().inflight, 0u);
}

// Four threads miss one key at the same moment: one origin request, four identical bodies.
TEST(Coalescer, ConcurrentMissesFromFourThreadsMakeOneOriginRequest) {
  constexpr int kThreads = 4;
  constexpr int kRounds = 50;
  Coalescer c(limits());
  FakeCache cache;
  std::atomic<int> origin_requests[kRounds] = {};
  std::atomic<int> leaders[kRounds] = {};
  std::barrier start(kThreads), acquired(kThreads);
  std::vector<std::string> bodies(kThreads * kRounds);

  auto worker = [&](int id) {
    asio::io_context io;
    for (int round = 0; round < kRounds; ++round) {
      const std::string key = "/live/s/seg_" + std::to_string(round) + ".ts";
      const std::string body = pattern(3000 + round, round);
      start.arrive_and_wait();
      auto t = c.acquire(key, SteadyClock::now(), [&] { return cache.find(key); });
      acquired.arrive_and_wait();  // everyone has its ticket before the origin answers
      if (!t.fetch) {  // keep meeting the barriers; the counts below fail the test
        ADD_FAILURE() << "round " << round << ": outcome " << static_cast<int>(t.outcome);
        continue;
      }
      ReadOutcome r;
      spawn_reader(io, t.fetch, r);
      io.poll();
      if (t.outcome == Outcome::leader) {
        leaders[round]++;
        origin_requests[round]++;  // the fake origin: counts, then answers
        t.fetch->set_head(head_200(body.size()));
        t.fetch->append(body.substr(0, 1000));
        t.fetch->append(body.substr(1000));
        t.fetch->complete();
        cache.insert(key, make_object(body));
        c.finish(key, t.fetch);
      }
      io.restart();
      io.run();
      EXPECT_EQ(r.end, StreamState::complete);
      bodies[id * kRounds + round] = r.body == body ? "ok" : "mismatch";
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) threads.emplace_back(worker, i);
  for (auto& th : threads) th.join();

  for (int round = 0; round < kRounds; ++round) {
    EXPECT_EQ(origin_requests[round].load(), 1) << "round " << round;
    EXPECT_EQ(leaders[round].load(), 1) << "round " << round;
  }
  for (const auto& b : bodies) EXPECT_EQ(b, "ok");
  auto s = c.stats();
  EXPECT_EQ(s.leaders, std::uint64_t(kRounds));
  EXPECT_EQ(s.followers, std::uint64_t(kRounds * (kThreads - 1)));
  EXPECT_EQ(s.inflight, 0u);
}

// Misses arriving while the leader finishes either follow its fetch or find the
// object it inserted (leaders insert before finish): never a second origin request.
TEST(Coalescer, LateMissesFollowOrHitNeverFetchTwice) {
  constexpr int kThreads = 4;
  constexpr int kKeys = 300;
  Coalescer c(limits());
  FakeCache cache;
  std::atomic<int> origin_requests[kKeys] = {};
  std::atomic<int> outcomes[4] = {};
  std::barrier start(kThreads);

  auto worker = [&](int id) {
    start.arrive_and_wait();
    for (int k = 0; k < kKeys; ++k) {
      const std::string key = "/live/s/seg_" + std::to_string(k) + ".ts";
      auto t = c.acquire(key, SteadyClock::now(), [&] { return cache.find(key); });
      outcomes[static_cast<int>(t.outcome)]++;
      if (t.outcome == Outcome::leader) {
        origin_requests[k]++;
        t.fetch->set_head(head_200());
        t.fetch->append(std::to_string(k));
        if (id % 2) std::this_thread::yield();
        t.fetch->complete();
        cache.insert(key, make_object(std::to_string(k)));
        c.finish(key, t.fetch);
      } else if (t.outcome == Outcome::fresh_hit) {
        EXPECT_EQ(t.object->body_string(), std::to_string(k));
      }
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) threads.emplace_back(worker, i);
  for (auto& th : threads) th.join();

  for (int k = 0; k < kKeys; ++k) EXPECT_EQ(origin_requests[k].load(), 1) << "key " << k;
  EXPECT_EQ(outcomes[static_cast<int>(Outcome::leader)].load(), kKeys);
  EXPECT_EQ(outcomes[static_cast<int>(Outcome::overloaded)].load(), 0);
  EXPECT_EQ(outcomes[static_cast<int>(Outcome::follower)] + outcomes[static_cast<int>(Outcome::fresh_hit)],
            kKeys * (kThreads - 1));
  EXPECT_EQ(c.stats().inflight, 0u);
}

// The in-flight bound holds across shards when threads race for distinct keys.
TEST(Coalescer, InflightBoundHoldsUnderConcurrentLeaders) {
  constexpr int kThreads = 4;
  constexpr int kIters = 20'000;
  constexpr std::uint32_t kMax = 2;
  Coalescer c(limits(10'000, kMax));
  std::atomic<int> holding{0}, max_holding{0};
  std::barrier start(kThreads);
  auto worker = [&](int id) {
    start.arrive_and_wait();
    for (int i = 0; i < kIters; ++i) {
      const std::string key = std::to_string(id) + "/" + std::to_string(i);
      auto t = c.acquire(key, t0, nullptr);
      if (t.outcome != Outcome::leader) continue;
      int now_holding = ++holding;
      int seen = max_holding.load();
      while (now_holding > seen && !max_holding.compare_exchange_weak(seen, now_holding)) {}
      --holding;
      c.finish(key, t.fetch);
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) threads.emplace_back(worker, i);
  for (auto& th : threads) th.join();
  EXPECT_LE(max_holding.load(), static_cast<int>(kMax));
  auto s = c.stats();
  EXPECT_EQ(s.inflight, 0u);
  EXPECT_EQ(s.leaders + s.rejected_inflight, std::uint64_t(kThreads) * kIters);
}

}  // namespace
}  // namespace hlscache
