#include <gtest/gtest.h>

#include "metrics/metrics.hpp"

using namespace hlscache;

TEST(Histogram, BucketsAreCumulativeWithInclusiveUpperBounds) {
  Histogram h{0.1, 0.5, 1};
  h.observe(0.05);
  h.observe(0.1);  // le is inclusive
  h.observe(0.3);
  h.observe(2);
  EXPECT_EQ(h.count(), 4u);
  EXPECT_DOUBLE_EQ(h.sum(), 2.45);
  std::string out;
  h.render(out, "x_seconds", "host=\"a:1\"");
  EXPECT_EQ(out,
            "x_seconds_bucket{host=\"a:1\",le=\"0.1\"} 2\n"
            "x_seconds_bucket{host=\"a:1\",le=\"0.5\"} 3\n"
            "x_seconds_bucket{host=\"a:1\",le=\"1\"} 3\n"
            "x_seconds_bucket{host=\"a:1\",le=\"+Inf\"} 4\n"
            "x_seconds_sum{host=\"a:1\"} 2.45\n"
            "x_seconds_count{host=\"a:1\"} 4\n");
}

TEST(Histogram, WithoutLabelsAndUnsortedBounds) {
  Histogram h{5, 1, 5};
  EXPECT_EQ(h.bounds(), (std::vector<double>{1, 5}));
  h.observe(0);
  std::string out;
  h.render(out, "f");
  EXPECT_EQ(out, "f_bucket{le=\"1\"} 1\nf_bucket{le=\"5\"} 1\nf_bucket{le=\"+Inf\"} 1\nf_sum 0\nf_count 1\n");
}

TEST(Metrics, ResponsesByCodeAndCacheResult) {
  Metrics m;
  m.count_response(200, CacheResult::hit, 100);
  m.count_response(200, CacheResult::hit, 50);
  m.count_response(404, CacheResult::miss, 0);
  m.count_response(299, CacheResult::none, 1);  // not listed on its own
  const std::string out = m.render();
  EXPECT_NE(out.find("hlscache_responses_total{code=\"200\",cache=\"HIT\"} 2\n"), std::string::npos) << out;
  EXPECT_NE(out.find("hlscache_responses_total{code=\"404\",cache=\"MISS\"} 1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("hlscache_responses_total{code=\"other\",cache=\"NONE\"} 1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("hlscache_response_bytes_by_cache_total{cache=\"HIT\"} 150\n"), std::string::npos) << out;
  EXPECT_NE(out.find("hlscache_connections_by_protocol_total{protocol=\"http1\"} 0\n"), std::string::npos) << out;
  EXPECT_EQ(m.requests_total(), 4u);
}
