#include "source/hash_ring.hpp"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

using namespace hlscache;

namespace {

std::vector<HashRing::Member> hosts(int n, int first = 1) {
  std::vector<HashRing::Member> m;
  for (int i = first; i < first + n; ++i) m.push_back({fmt::format("10.0.0.{}:8080", i), 1});
  return m;
}

std::string key(int i) { return fmt::format("/live/stream{}/720p/seg_{}.ts", i % 37, i); }

}  // namespace

TEST(HashRing, EveryKeyHasOneOwnerAndTheSameOneEachTime) {
  HashRing ring(hosts(5));
  for (int i = 0; i < 1000; ++i) {
    auto h = HashRing::hash_key(key(i));
    EXPECT_EQ(ring.owner(h), ring.owner(h));
    EXPECT_LT(ring.owner(h), 5u);
  }
}

TEST(HashRing, MemberOrderDoesNotChangeOwnership) {
  auto a = hosts(5);
  auto b = a;
  std::reverse(b.begin(), b.end());
  HashRing ra(a), rb(b);
  for (int i = 0; i < 10000; ++i) {
    auto h = HashRing::hash_key(key(i));
    EXPECT_EQ(ra.member(ra.owner(h)).id, rb.member(rb.owner(h)).id) << key(i);
  }
}

// The test: removing one of N hosts moves only ~1/N of 100k keys, and only
// the removed host's keys move (every other key keeps its owner).
TEST(HashRing, RemovingOneOfNHostsMovesOnlyItsOwnKeys) {
  constexpr int kKeys = 100'000;
  for (int n : {2, 5, 20}) {
    auto all = hosts(n);
    HashRing before(all);
    auto fewer = all;
    const std::string removed = fewer[n / 2].id;
    fewer.erase(fewer.begin() + n / 2);
    HashRing after(fewer);
    int moved = 0, owned_by_removed = 0;
    for (int i = 0; i < kKeys; ++i) {
      auto h = HashRing::hash_key(key(i));
      const std::string& was = before.member(before.owner(h)).id;
      const std::string& now = after.member(after.owner(h)).id;
      if (was == removed) ++owned_by_removed;
      if (was != now) {
        ++moved;
        EXPECT_EQ(was, removed) << "key " << key(i) << " moved from a host that stayed";
      }
    }
    EXPECT_EQ(moved, owned_by_removed);
    const double fraction = static_cast<double>(moved) / kKeys;
    EXPECT_NEAR(fraction, 1.0 / n, 0.35 / n) << n << " hosts: " << moved << " keys moved";
  }
}

TEST(HashRing, AddingAHostTakesAboutItsShareFromEveryone) {
  constexpr int kKeys = 100'000;
  HashRing before(hosts(4));
  HashRing after(hosts(5));
  int moved = 0;
  for (int i = 0; i < kKeys; ++i) {
    auto h = HashRing::hash_key(key(i));
    const auto& now = after.member(after.owner(h)).id;
    if (before.member(before.owner(h)).id != now) {
      ++moved;
      EXPECT_EQ(now, "10.0.0.5:8080");  // keys move only to the newcomer
    }
  }
  EXPECT_NEAR(static_cast<double>(moved) / kKeys, 0.2, 0.07);
}

TEST(HashRing, LoadIsBalancedWithinTenPercentOfTheMean) {
  constexpr int kKeys = 100'000;
  for (int n : {2, 5, 20}) {
    HashRing ring(hosts(n));
    std::vector<int> load(n, 0);
    for (int i = 0; i < kKeys; ++i) ++load[ring.owner(HashRing::hash_key(key(i)))];
    const double mean = static_cast<double>(kKeys) / n;
    const int max = *std::max_element(load.begin(), load.end());
    EXPECT_LT(max / mean, 1.20) << n << " hosts";  // measured figures: docs/performance.md
  }
}

TEST(HashRing, WeightsScaleTheShare) {
  std::vector<HashRing::Member> m{{"a:1", 1}, {"b:1", 3}};
  HashRing ring(m);
  int b = 0;
  for (int i = 0; i < 100'000; ++i) b += ring.member(ring.owner(HashRing::hash_key(key(i)))).id == "b:1";
  EXPECT_NEAR(b / 100'000.0, 0.75, 0.05);
}

TEST(HashRing, WalkListsDistinctHostsOwnerFirst) {
  HashRing ring(hosts(5));
  std::vector<std::uint32_t> order;
  for (int i = 0; i < 1000; ++i) {
    auto h = HashRing::hash_key(key(i));
    ASSERT_EQ(ring.walk(h, 10, order), 5u);
    EXPECT_EQ(order.front(), ring.owner(h));
    EXPECT_EQ(std::set<std::uint32_t>(order.begin(), order.end()).size(), 5u);
    ASSERT_EQ(ring.walk(h, 2, order), 2u);
    EXPECT_EQ(order.front(), ring.owner(h));
  }
}

// Failover order is consistent with removal: a dead owner's keys go to the host the
// walk names second, which is the owner the ring without it would pick.
TEST(HashRing, SecondInTheWalkIsTheOwnerWithoutTheFirst) {
  auto all = hosts(5);
  HashRing ring(all);
  std::vector<std::uint32_t> order;
  for (int i = 0; i < 2000; ++i) {
    auto h = HashRing::hash_key(key(i));
    ring.walk(h, 2, order);
    auto fewer = all;
    fewer.erase(fewer.begin() + order[0]);
    HashRing without(fewer);
    EXPECT_EQ(ring.member(order[1]).id, without.member(without.owner(h)).id);
  }
}

TEST(HashRing, EmptyRingWalksNothing) {
  HashRing ring({});
  std::vector<std::uint32_t> order{1, 2};
  EXPECT_TRUE(ring.empty());
  EXPECT_EQ(ring.walk(42, 3, order), 0u);
  EXPECT_TRUE(order.empty());
}
