// The runtime facade: policy names, dispatch to the chosen ShardedCache, and
// argument checks. Policy behaviour itself is covered by the typed suite.
#include <gtest/gtest.h>

#include <stdexcept>

#include "cache/cache.hpp"
#include "cache_test_util.hpp"

namespace hlscache {
namespace {

using namespace hlscache::test;

TEST(CacheFacade, PolicyNamesRoundTrip) {
  for (PolicyKind p : {PolicyKind::fifo, PolicyKind::lru, PolicyKind::s4lru})
    EXPECT_EQ(parse_policy(to_string(p)), p);
  EXPECT_STREQ(to_string(PolicyKind::s4lru), "s4lru");
  EXPECT_EQ(parse_policy("LRU"), std::nullopt);
  EXPECT_EQ(parse_policy(""), std::nullopt);
  EXPECT_EQ(parse_policy("lfu"), std::nullopt);
}

TEST(CacheFacade, DispatchesToTheChosenPolicy) {
  for (PolicyKind p : {PolicyKind::fifo, PolicyKind::lru, PolicyKind::s4lru}) {
    Cache cache(p, 64 * 1000, 4);
    EXPECT_EQ(cache.policy(), p);
    EXPECT_EQ(cache.shard_count(), 4u);
    EXPECT_EQ(cache.max_object_charge(), p == PolicyKind::s4lru ? 4000u : 16000u);
    EXPECT_TRUE(cache.insert(key(1), make_object(1000, "v"), t0));
    EXPECT_TRUE(cache.contains(key(1)));
    const auto r = cache.lookup(key(1), t0);
    ASSERT_EQ(r.state, LookupState::fresh);
    EXPECT_EQ(r.object->etag, "v");
    EXPECT_EQ(cache.lookup(key(2), t0).state, LookupState::miss);
    EXPECT_EQ(cache.erase_prefix("k0000"), 1u);
    EXPECT_FALSE(cache.erase(key(1)));
    EXPECT_EQ(cache.reclaim_expired(t0, 10), 0u);
    const CacheStats s = cache.stats();
    EXPECT_EQ(s.hits, 1u);
    EXPECT_EQ(s.misses, 1u);
    EXPECT_EQ(s.inserts, 1u);
    EXPECT_EQ(s.capacity, 64000u);
    EXPECT_EQ(s.objects, 0u);
  }
}

TEST(CacheFacade, CapacitySplitEvenlyAndZeroShardsRefused) {
  Cache cache(PolicyKind::lru, 1003, 4);
  EXPECT_EQ(cache.stats().capacity, 1003u);
  EXPECT_EQ(cache.max_object_charge(), 250u);  // the smallest share
  EXPECT_THROW(Cache(PolicyKind::lru, 1000, 0), std::invalid_argument);
}

}  // namespace
}  // namespace hlscache
