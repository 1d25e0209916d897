// One typed suite every eviction policy runs (docs/design.md, style rule 8): budget,
// accounting, replace/erase/purge, freshness and expiry, size limit, threads.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cache/policy/fifo.hpp"
#include "cache/policy/lru.hpp"
#include "cache/policy/s4lru.hpp"
#include "cache/sharded_cache.hpp"
#include "cache_test_util.hpp"

namespace hlscache {
namespace {

using namespace hlscache::test;

template <class P>
class CacheTypedTest : public ::testing::Test {};

using Policies = ::testing::Types<Fifo, Lru, S4lru>;
TYPED_TEST_SUITE(CacheTypedTest, Policies);

constexpr std::uint64_t kUnit = 1000;  // a typical charge in these tests

TYPED_TEST(CacheTypedTest, CapacityNeverExceeded) {
  constexpr std::uint64_t kCapacity = 64 * 1024;
  ShardedCache<TypeParam> cache(kCapacity, 4);
  std::mt19937 rng(7);
  std::uniform_int_distribution<std::uint64_t> charge(min_charge(), 5000);
  std::uniform_int_distribution<int> pick(0, 299);
  int stored = 0;
  for (int i = 0; i < 3000; ++i) {
    const std::string k = key(pick(rng));
    stored += cache.insert(k, make_object(charge(rng)), t0) ? 1 : 0;
    const CacheStats s = cache.stats();
    ASSERT_LE(s.bytes, kCapacity) << "after insert " << i;
    if (i % 3 == 0) (void)cache.lookup(key(pick(rng)), t0);  // let hit-driven policies reorder
  }
  const CacheStats s = cache.stats();
  EXPECT_EQ(s.inserts, static_cast<std::uint64_t>(stored));
  EXPECT_GT(s.evictions, 0u);
  EXPECT_EQ(s.capacity, kCapacity);
  for (std::size_t i = 0; i < cache.shard_count(); ++i) {
    const CacheStats ss = cache.shard(i).stats();
    EXPECT_LE(ss.bytes, ss.capacity);
  }
}

TYPED_TEST(CacheTypedTest, MetadataIsCharged) {
  // Objects with empty bodies still cost Object::kOverhead + sizeof(Object) + key:
  // many of them cannot exceed the budget.
  constexpr std::uint64_t kCapacity = 64 * 1024;
  ShardedCache<TypeParam> cache(kCapacity, 1);
  for (int i = 0; i < 10000; ++i) {
    auto o = std::make_shared<Object>();
    o->fresh_until = t0 + 1h;
    o->stale_until = t0 + 2h;
    ASSERT_TRUE(cache.insert(key(i), o, t0));
  }
  const CacheStats s = cache.stats();
  EXPECT_LE(s.bytes, kCapacity);
  EXPECT_GT(s.objects, 0u);
  EXPECT_LE(s.objects, kCapacity / (Object::kOverhead + sizeof(Object)));
  EXPECT_EQ(s.bytes, s.objects * Object{}.charge(kKeySize));
  EXPECT_EQ(s.evictions, 10000 - s.objects);
}

TYPED_TEST(CacheTypedTest, CountsHitsMissesInsertsEvictions) {
  ShardedCache<TypeParam> cache(8 * kUnit, 1);
  EXPECT_EQ(cache.lookup("k00001", t0).state, LookupState::miss);
  ASSERT_TRUE(cache.insert(key(1), make_object(kUnit, "one"), t0));
  auto r = cache.lookup(key(1), t0);
  ASSERT_EQ(r.state, LookupState::fresh);
  EXPECT_EQ(r.object->etag, "one");
  EXPECT_EQ(cache.lookup(key(1), t0).state, LookupState::fresh);
  EXPECT_EQ(cache.lookup(key(2), t0).state, LookupState::miss);
  CacheStats s = cache.stats();
  EXPECT_EQ(s.hits, 2u);
  EXPECT_EQ(s.misses, 2u);
  EXPECT_EQ(s.inserts, 1u);
  EXPECT_EQ(s.evictions, 0u);
  EXPECT_EQ(s.objects, 1u);
  EXPECT_EQ(s.bytes, kUnit);

  for (int i = 10; i < 30; ++i) ASSERT_TRUE(cache.insert(key(i), make_object(kUnit), t0));
  s = cache.stats();
  EXPECT_EQ(s.inserts, 21u);
  EXPECT_GT(s.evictions, 0u);
  EXPECT_EQ(s.evictions, s.inserts - s.objects);  // nothing erased or expired
  EXPECT_EQ(s.bytes, s.objects * kUnit);
  std::uint64_t level_objects = 0, level_bytes = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    level_objects += s.level_objects[i];
    level_bytes += s.level_bytes[i];
  }
  EXPECT_EQ(level_objects, s.objects);
  EXPECT_EQ(level_bytes, s.bytes);
}

TYPED_TEST(CacheTypedTest, InsertReplacesExistingKey) {
  ShardedCache<TypeParam> cache(8 * kUnit, 1);
  ASSERT_TRUE(cache.insert(key(1), make_object(kUnit, "v1"), t0));
  ASSERT_TRUE(cache.insert(key(1), make_object(kUnit + 300, "v2"), t0));
  const auto r = cache.lookup(key(1), t0);
  ASSERT_EQ(r.state, LookupState::fresh);
  EXPECT_EQ(r.object->etag, "v2");
  const CacheStats s = cache.stats();
  EXPECT_EQ(s.objects, 1u);
  EXPECT_EQ(s.bytes, kUnit + 300);
  EXPECT_EQ(s.inserts, 2u);
  EXPECT_EQ(s.evictions, 0u);
}

TYPED_TEST(CacheTypedTest, Erase) {
  ShardedCache<TypeParam> cache(64 * kUnit, 2);
  ASSERT_TRUE(cache.insert(key(1), make_object(kUnit), t0));
  ASSERT_TRUE(cache.insert(key(2), make_object(kUnit + 10), t0));
  EXPECT_TRUE(cache.erase(key(1)));
  EXPECT_FALSE(cache.erase(key(1)));
  EXPECT_FALSE(cache.contains(key(1)));
  EXPECT_TRUE(cache.contains(key(2)));
  EXPECT_EQ(cache.lookup(key(1), t0).state, LookupState::miss);
  const CacheStats s = cache.stats();
  EXPECT_EQ(s.objects, 1u);
  EXPECT_EQ(s.bytes, kUnit + 10);
}

TYPED_TEST(CacheTypedTest, ErasePrefixPurgesAcrossShards) {
  ShardedCache<TypeParam> cache(1 << 20, 4);
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(cache.insert("/live/s1/seg_" + std::to_string(i) + ".ts", make_object(kUnit), t0));
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(cache.insert("/live/s2/seg_" + std::to_string(i) + ".ts", make_object(kUnit), t0));
  EXPECT_EQ(cache.erase_prefix("/live/s1/"), 5u);
  EXPECT_EQ(cache.erase_prefix("/live/s1/"), 0u);
  EXPECT_EQ(cache.erase_prefix("/nothing"), 0u);
  EXPECT_FALSE(cache.contains("/live/s1/seg_0.ts"));
  EXPECT_TRUE(cache.contains("/live/s2/seg_2.ts"));
  EXPECT_EQ(cache.stats().objects, 3u);
  EXPECT_EQ(cache.erase_prefix(""), 3u);  // the empty prefix purges everything
  EXPECT_EQ(cache.stats().bytes, 0u);
}

TYPED_TEST(CacheTypedTest, FreshThenStaleThenExpired) {
  ShardedCache<TypeParam> cache(8 * kUnit, 1);
  ASSERT_TRUE(cache.insert(key(1), make_object(kUnit, "x", t0 + 10s, t0 + 20s), t0));
  EXPECT_EQ(cache.lookup(key(1), t0 + 9s).state, LookupState::fresh);
  const auto stale = cache.lookup(key(1), t0 + 10s);  // fresh_until is exclusive
  EXPECT_EQ(stale.state, LookupState::stale);
  ASSERT_TRUE(stale.object);
  EXPECT_EQ(stale.object->etag, "x");
  EXPECT_EQ(cache.lookup(key(1), t0 + 19s).state, LookupState::stale);
  CacheStats s = cache.stats();
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.stale_hits, 2u);
  EXPECT_EQ(s.misses, 0u);

  const auto gone = cache.lookup(key(1), t0 + 20s);  // stale_until is exclusive too
  EXPECT_EQ(gone.state, LookupState::miss);
  EXPECT_FALSE(gone.object);
  s = cache.stats();
  EXPECT_EQ(s.expired, 1u);
  EXPECT_EQ(s.misses, 1u);
  EXPECT_EQ(s.objects, 0u);
  EXPECT_EQ(s.bytes, 0u);
  EXPECT_FALSE(cache.contains(key(1)));
  // An object already past its stale_until is not stored.
  EXPECT_FALSE(cache.insert(key(2), make_object(kUnit, "", t0 + 1s, t0 + 2s), t0 + 2s));
  EXPECT_EQ(cache.stats().rejected_expired, 1u);
}

TYPED_TEST(CacheTypedTest, ReclaimExpiredEarliestFirstAndBounded) {
  ShardedCache<TypeParam> cache(64 * kUnit, 1);
  for (int i = 1; i <= 10; ++i)  // key(i) stops being servable at t0 + i s
    ASSERT_TRUE(cache.insert(key(i), make_object(kUnit, "", t0 + std::chrono::seconds(i) - 500ms,
                                                 t0 + std::chrono::seconds(i)), t0));
  const TimePoint now = t0 + 5500ms;
  EXPECT_EQ(cache.reclaim_expired(now, 3), 3u);
  for (int i = 1; i <= 3; ++i) EXPECT_FALSE(cache.contains(key(i)));
  EXPECT_TRUE(cache.contains(key(4)));
  EXPECT_EQ(cache.reclaim_expired(now, 100), 2u);
  EXPECT_EQ(cache.reclaim_expired(now, 100), 0u);
  CacheStats s = cache.stats();
  EXPECT_EQ(s.expired, 5u);
  EXPECT_EQ(s.objects, 5u);
  EXPECT_EQ(s.bytes, 5 * kUnit);
  EXPECT_EQ(cache.lookup(key(6), now - 1ms).state, LookupState::fresh);  // fresh until t0 + 5.5 s
  EXPECT_EQ(cache.lookup(key(6), now).state, LookupState::stale);
  // Everything expired is reclaimed, nothing expired is served.
  EXPECT_EQ(cache.reclaim_expired(t0 + 1h, 100), 5u);
  EXPECT_EQ(cache.lookup(key(10), t0 + 1h).state, LookupState::miss);
  s = cache.stats();
  EXPECT_EQ(s.objects, 0u);
  EXPECT_EQ(s.expired, 10u);
}

TYPED_TEST(CacheTypedTest, TooLargeIsRejectedAndCounted) {
  constexpr std::uint64_t kCapacity = 16 * kUnit;
  ShardedCache<TypeParam> cache(kCapacity, 1);
  const std::uint64_t max = cache.max_charge();
  EXPECT_LE(max, kCapacity);
  ASSERT_TRUE(cache.insert(key(1), make_object(kUnit, "old"), t0));
  EXPECT_FALSE(cache.insert(key(2), make_object(kCapacity + 1), t0));
  EXPECT_FALSE(cache.insert(key(3), make_object(max + 1), t0));
  // A refused replacement still drops the outdated object.
  EXPECT_FALSE(cache.insert(key(1), make_object(max + 1), t0));
  CacheStats s = cache.stats();
  EXPECT_EQ(s.rejected_too_large, 3u);
  EXPECT_EQ(s.objects, 0u);
  EXPECT_EQ(s.inserts, 1u);
  EXPECT_TRUE(cache.insert(key(4), make_object(max), t0));  // exactly the limit fits
  EXPECT_TRUE(cache.contains(key(4)));
}

TYPED_TEST(CacheTypedTest, ConcurrentInsertAndLookup) {
  constexpr int kThreads = 4, kOpsPerThread = 50000, kKeys = 2048;
  constexpr std::uint64_t kCapacity = 400 * kUnit;
  ShardedCache<TypeParam> cache(kCapacity, 8);
  std::vector<std::string> keys;
  std::vector<ObjectPtr> objects;
  for (int i = 0; i < kKeys; ++i) {
    keys.push_back(key(i));
    objects.push_back(make_object(kUnit, keys.back()));
  }
  std::atomic<std::uint64_t> lookups{0}, stored{0}, wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(100 + t);
      std::uniform_int_distribution<int> pick(0, kKeys - 1);
      std::uint64_t my_lookups = 0, my_stored = 0, my_wrong = 0;
      for (int op = 0; op < kOpsPerThread; ++op) {
        const int k = pick(rng);
        if (op % 2 == 0) {
          ++my_lookups;
          const auto r = cache.lookup(keys[k], t0);
          if (r.state != LookupState::miss && r.object->etag != keys[k]) ++my_wrong;
        } else if (op % 97 == 1) {
          (void)cache.erase(keys[k]);
        } else {
          my_stored += cache.insert(keys[k], objects[k], t0) ? 1 : 0;
        }
      }
      lookups += my_lookups;
      stored += my_stored;
      wrong += my_wrong;
    });
  }
  for (auto& th : threads) th.join();
  const CacheStats s = cache.stats();
  EXPECT_EQ(wrong.load(), 0u);
  EXPECT_EQ(s.hits + s.stale_hits + s.misses, lookups.load());
  EXPECT_EQ(s.inserts, stored.load());
  EXPECT_GT(s.hits, 0u);
  EXPECT_GT(s.evictions, 0u);
  EXPECT_LE(s.bytes, kCapacity);
  EXPECT_EQ(s.bytes, s.objects * kUnit);
}

}  // namespace
}  // namespace hlscache
