// Exact eviction order of each policy, on one shard so the order is global:
// FIFO ignores hits, LRU follows recency, S4LRU promotes, demotes, evicts from
// queue 0's tail and resists scans (Huang et al., SOSP 2013).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cache/policy/fifo.hpp"
#include "cache/policy/lru.hpp"
#include "cache/policy/s4lru.hpp"
#include "cache/sharded_cache.hpp"
#include "cache_test_util.hpp"

namespace hlscache {
namespace {

using namespace hlscache::test;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr std::uint64_t C = 4000;  // every object's charge unless stated (C / 2 stays above the smallest possible charge)

template <class P>
void put(ShardedCache<P>& cache, const std::string& k, std::uint64_t charge = C) {
  ASSERT_TRUE(cache.insert(k, make_object(charge, k, t0 + 1h, t0 + 2h, k.size()), t0)) << k;
}
template <class P>
void hit(ShardedCache<P>& cache, const std::string& k) {
  ASSERT_EQ(cache.lookup(k, t0).state, LookupState::fresh) << k;
}
template <class P>
std::vector<std::string> queue(const ShardedCache<P>& cache, std::size_t level = 0) {
  return cache.shard(0).keys_at_level(level);  // head (newest) .. tail (next victim)
}

TEST(FifoOrder, EvictsOldestInsertRegardlessOfHits) {
  ShardedCache<Fifo> cache(4 * C, 1);
  for (const char* k : {"a", "b", "c", "d"}) put(cache, k);
  hit(cache, "a");
  hit(cache, "a");
  hit(cache, "b");
  EXPECT_THAT(queue(cache), ElementsAre("d", "c", "b", "a"));
  put(cache, "e");
  EXPECT_FALSE(cache.contains("a"));
  EXPECT_THAT(queue(cache), ElementsAre("e", "d", "c", "b"));
  put(cache, "f");
  EXPECT_FALSE(cache.contains("b"));
  EXPECT_THAT(queue(cache), ElementsAre("f", "e", "d", "c"));
  EXPECT_EQ(cache.stats().evictions, 2u);
}

TEST(LruOrder, EvictsLeastRecentlyUsed) {
  ShardedCache<Lru> cache(4 * C, 1);
  for (const char* k : {"a", "b", "c", "d"}) put(cache, k);
  hit(cache, "a");
  EXPECT_THAT(queue(cache), ElementsAre("a", "d", "c", "b"));
  put(cache, "e");
  EXPECT_FALSE(cache.contains("b"));
  EXPECT_THAT(queue(cache), ElementsAre("e", "a", "d", "c"));
  hit(cache, "c");
  put(cache, "f");
  EXPECT_FALSE(cache.contains("d"));
  EXPECT_THAT(queue(cache), ElementsAre("f", "c", "e", "a"));
}

TEST(LruOrder, StaleHitDoesNotPromote) {
  ShardedCache<Lru> cache(4 * C, 1);
  ASSERT_TRUE(cache.insert("a", make_object(C, "a", t0 + 1s, t0 + 1h, 1), t0));
  for (const char* k : {"b", "c", "d"}) put(cache, k);
  ASSERT_EQ(cache.lookup("a", t0 + 2s).state, LookupState::stale);
  EXPECT_THAT(queue(cache), ElementsAre("d", "c", "b", "a"));
  put(cache, "e");
  EXPECT_FALSE(cache.contains("a"));
}

TEST(LruOrder, LargeInsertEvictsAsManyAsNeeded) {
  ShardedCache<Lru> cache(4 * C, 1);
  for (const char* k : {"a", "b", "c", "d"}) put(cache, k);
  put(cache, "big", 2 * C + 1);  // needs three victims' room
  EXPECT_THAT(queue(cache), ElementsAre("big", "d"));
  EXPECT_EQ(cache.stats().evictions, 3u);
  EXPECT_EQ(cache.stats().bytes, 3 * C + 1);
}

TEST(LruOrder, OnePassScanEvictsAHotObject) {  // the contrast to S4LRU's scan resistance
  ShardedCache<Lru> cache(8 * C, 1);
  put(cache, "hot");
  for (int i = 0; i < 3; ++i) hit(cache, "hot");
  for (int i = 0; i < 1000; ++i) put(cache, key(i));
  EXPECT_FALSE(cache.contains("hot"));
}

TEST(S4lruOrder, HitsPromoteThroughLevelsAndStopAtThree) {
  ShardedCache<S4lru> cache(8 * C, 1);  // four queues of 2 * C
  put(cache, "a");
  EXPECT_EQ(cache.level_of("a"), 0u);
  for (std::size_t expected : {1u, 2u, 3u, 3u}) {
    hit(cache, "a");
    EXPECT_EQ(cache.level_of("a"), expected);
  }
  const CacheStats s = cache.stats();
  EXPECT_EQ(s.level_objects[3], 1u);
  EXPECT_EQ(s.level_bytes[3], C);
  EXPECT_EQ(s.level_objects[0] + s.level_objects[1] + s.level_objects[2], 0u);
}

TEST(S4lruOrder, MissesEnterQueueZeroAndItsTailIsEvicted) {
  ShardedCache<S4lru> cache(8 * C, 1);
  put(cache, "x");
  hit(cache, "x");  // x now in queue 1: out of queue 0's way
  put(cache, "a");
  put(cache, "b");
  EXPECT_THAT(queue(cache, 0), ElementsAre("b", "a"));
  put(cache, "c");  // queue 0 over its quarter: its tail goes
  EXPECT_FALSE(cache.contains("a"));
  EXPECT_THAT(queue(cache, 0), ElementsAre("c", "b"));
  EXPECT_THAT(queue(cache, 1), ElementsAre("x"));
  EXPECT_EQ(cache.stats().evictions, 1u);
}

TEST(S4lruOrder, OverflowDemotesTailOneLevel) {
  ShardedCache<S4lru> cache(8 * C, 1);
  for (const char* k : {"a", "b", "c"}) {
    put(cache, k);
    hit(cache, k);
  }
  // Queue 1 received a, b, c; its quarter holds two, so its tail (a) went to queue 0's head.
  EXPECT_THAT(queue(cache, 1), ElementsAre("c", "b"));
  EXPECT_THAT(queue(cache, 0), ElementsAre("a"));
  EXPECT_EQ(cache.stats().evictions, 0u);
  hit(cache, "a");  // back up to queue 1: b is demoted in turn
  EXPECT_THAT(queue(cache, 1), ElementsAre("a", "c"));
  EXPECT_THAT(queue(cache, 0), ElementsAre("b"));
}

TEST(S4lruOrder, DemotionCascadesAndEvictsFromQueueZero) {
  ShardedCache<S4lru> cache(8 * C, 1);  // quarter = 2 * C
  put(cache, "p", 2 * C);
  hit(cache, "p");
  hit(cache, "p");  // queue 2: [p] (full)
  put(cache, "r");
  hit(cache, "r");  // queue 1: [r]
  put(cache, "s", C / 2);
  hit(cache, "s");  // queue 1: [s, r]
  put(cache, "z");
  put(cache, "w");  // queue 0: [w, z] (full)
  EXPECT_THAT(queue(cache, 2), ElementsAre("p"));
  EXPECT_THAT(queue(cache, 1), ElementsAre("s", "r"));
  EXPECT_THAT(queue(cache, 0), ElementsAre("w", "z"));
  // s climbs to queue 2 (2.5 C): p drops to queue 1 (3 C): r drops to queue 0 (3 C): z is evicted.
  hit(cache, "s");
  EXPECT_THAT(queue(cache, 2), ElementsAre("s"));
  EXPECT_THAT(queue(cache, 1), ElementsAre("p"));
  EXPECT_THAT(queue(cache, 0), ElementsAre("r", "w"));
  EXPECT_FALSE(cache.contains("z"));
  const CacheStats st = cache.stats();
  EXPECT_EQ(st.evictions, 1u);
  EXPECT_EQ(st.level_bytes[0], 2 * C);
  EXPECT_EQ(st.level_bytes[1], 2 * C);
  EXPECT_EQ(st.level_bytes[2], C / 2);
  EXPECT_THAT(queue(cache, 3), IsEmpty());
}

TEST(S4lruOrder, OnePassScanDoesNotEvictObjectHitThreeTimes) {
  ShardedCache<S4lru> cache(8 * C, 1);
  put(cache, "hot");
  for (int i = 0; i < 3; ++i) hit(cache, "hot");
  ASSERT_EQ(cache.level_of("hot"), 3u);
  for (int i = 0; i < 1000; ++i) put(cache, key(i));
  EXPECT_TRUE(cache.contains("hot"));
  EXPECT_EQ(cache.level_of("hot"), 3u);
  EXPECT_EQ(cache.stats().evictions, 998u);  // queue 0 keeps the last two of the scan
  EXPECT_LE(cache.stats().bytes, 8 * C);
}

TEST(S4lruOrder, StaleHitDoesNotPromote) {
  ShardedCache<S4lru> cache(8 * C, 1);
  ASSERT_TRUE(cache.insert("a", make_object(C, "a", t0 + 1s, t0 + 1h, 1), t0));
  ASSERT_EQ(cache.lookup("a", t0 + 2s).state, LookupState::stale);
  EXPECT_EQ(cache.level_of("a"), 0u);
}

TEST(S4lruOrder, ObjectLargerThanAQuarterIsRejected) {
  ShardedCache<S4lru> cache(8 * C, 1);
  EXPECT_EQ(cache.max_charge(), 2 * C);
  EXPECT_FALSE(cache.insert("big", make_object(2 * C + 1, "", t0 + 1h, t0 + 2h, 3), t0));
  EXPECT_EQ(cache.stats().rejected_too_large, 1u);
  EXPECT_TRUE(cache.insert("fits", make_object(2 * C, "", t0 + 1h, t0 + 2h, 4), t0));
}

}  // namespace
}  // namespace hlscache
