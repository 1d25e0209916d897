#include "core/hash.hpp"

#include <gtest/gtest.h>

#include <string>
#include <unordered_set>

using namespace hlscache;

TEST(Hash, StableAndSeedDependent) {
  EXPECT_EQ(hash64("/live/test/seg_1.ts"), hash64("/live/test/seg_1.ts"));
  EXPECT_NE(hash64("/live/test/seg_1.ts"), hash64("/live/test/seg_2.ts"));
  EXPECT_NE(hash64("abc", 1), hash64("abc", 2));
  EXPECT_NE(hash64(""), hash64(std::string_view("\0", 1)));
}

TEST(Hash, SpreadsSequentialKeysOverShards) {
  constexpr int kShards = 16, kKeys = 16000;
  int counts[kShards] = {};
  for (int i = 0; i < kKeys; ++i) ++counts[hash64("/live/s/seg_" + std::to_string(i) + ".ts") % kShards];
  for (int c : counts) {
    EXPECT_GT(c, kKeys / kShards * 8 / 10);
    EXPECT_LT(c, kKeys / kShards * 12 / 10);
  }
}
