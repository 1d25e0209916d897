// cache_sizing (server/sizing.hpp): the largest cacheable object follows from the
// cache's capacity, shards and policy, and the expected segment from the config.
#include <gtest/gtest.h>

#include "config/config.hpp"
#include "server/sizing.hpp"

namespace hlscache {
namespace {

Config edge(const std::string& cache) {
  auto cfg = load_config_string("role: edge\nlisten: [{address: '127.0.0.1:0'}]\nupstream: {hosts: ['127.0.0.1:1']}\n"
                                "cache: {" + cache + "}\n", "t.yaml");
  EXPECT_TRUE(cfg.ok()) << cfg.error().message;
  return cfg.ok() ? **cfg : Config{};
}

TEST(CacheSizing, S4lruHoldsAQuarterOfAShardLruAWholeShard) {
  const auto s4 = cache_sizing(edge("capacity: 64MiB, shards: 16, policy: s4lru"));
  const auto lru = cache_sizing(edge("capacity: 64MiB, shards: 16, policy: lru"));
  EXPECT_EQ(lru.max_object_charge, (64u << 20) / 16);
  EXPECT_EQ(s4.max_object_charge, lru.max_object_charge / 4);
  EXPECT_EQ(s4.max_body, s4.max_object_charge - CacheSizing::kHeaderAllowance);
}

TEST(CacheSizing, ACacheThatCannotHoldTheExpectedSegmentWarns) {
  const auto small = cache_sizing(edge("capacity: 16MiB, shards: 16, policy: s4lru, expected_segment_bytes: 2MiB"));
  EXPECT_TRUE(small.too_small());
  EXPECT_NE(small.warning(), "");
  const auto big = cache_sizing(edge("capacity: 1GiB, shards: 16, policy: s4lru, expected_segment_bytes: 2MiB"));
  EXPECT_FALSE(big.too_small());
  EXPECT_EQ(big.warning(), "");
  EXPECT_EQ(big.expected_segment, 2u << 20);
}

TEST(CacheSizing, WithoutAnExpectedSizeAnEdgeAssumesTwoSecondsAtTheAssumedBitrate) {
  const auto s = cache_sizing(edge("capacity: 1GiB"));
  EXPECT_EQ(s.expected_segment, CacheSizing::kAssumedBitrate / 8 * CacheSizing::kAssumedSegmentDurationMs / 1000);
}

}  // namespace
}  // namespace hlscache
