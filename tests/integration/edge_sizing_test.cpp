// The bound --check-config prints is the cache's own: through a real edge, a body of
// the printed "largest cacheable object" size is stored (MISS, then HIT), and one byte
// more than the charge bound is served but never stored (MISS, MISS, counted in
// hlscache_cache_rejected_too_large_total). docs/configuration.md#cache.
#include <gtest/gtest.h>

#include <regex>

#include "edge_test_util.hpp"

namespace hlscache::test {
namespace {

using EdgeSizingTest = EdgeTest;

TEST_F(EdgeSizingTest, PrintedLargestObjectIsCachedAndALargerOneIsNot) {
  // 4 MiB in one S4LRU shard: objects charged up to 1 MiB.
  EdgeYaml y = EdgeYaml{}.with_cache("capacity: 4MiB, shards: 1, policy: s4lru");
  y.upstream_port = origin_.port();
  auto checked = check_config(y.str());
  ASSERT_EQ(checked.exit_code, 0) << checked.err;
  std::smatch m;
  const std::regex bound(R"(# largest cacheable object: ([0-9]+) bytes \(([0-9]+) charged)");
  ASSERT_TRUE(std::regex_search(checked.out, m, bound)) << checked.out;
  const std::size_t body = std::stoull(m[1]), charge = std::stoull(m[2]);
  EXPECT_EQ(charge, 1u << 20);

  auto reply = [](std::size_t n) {
    OriginReply r;
    r.body = pattern_body(n, 5);
    r.headers = {{"Content-Type", "video/mp2t"}, {"Cache-Control", "max-age=600"}};
    return r;
  };
  origin_.set("/live/s/fits.ts", reply(body));
  origin_.set("/live/s/over.ts", reply(charge + 1));
  start(y);
  EXPECT_EQ(get("/live/s/fits.ts").header("X-Cache").value_or(""), "MISS");
  auto hit = get("/live/s/fits.ts");
  EXPECT_EQ(hit.header("X-Cache").value_or(""), "HIT") << "a body of the printed size was not stored";
  EXPECT_EQ(hit.body.size(), body);
  for (int i = 0; i < 2; ++i) {
    auto r = get("/live/s/over.ts");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body.size(), charge + 1);
    EXPECT_EQ(r.header("X-Cache").value_or(""), "MISS");
  }
  EXPECT_GE(edge_metric(port_, "hlscache_cache_rejected_too_large_total", "policy=\"s4lru\"").value_or(0), 1);
  EXPECT_EQ(origin_.requests("/live/s/over.ts"), 2u);
}

}  // namespace
}  // namespace hlscache::test
