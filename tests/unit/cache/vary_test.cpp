// Vary (src/cache/vary.*): values normalized per RFC 9111 §4.1 (lines joined,
// members trimmed, absent != empty), variant keys, and the marker's bounded list.
#include <gtest/gtest.h>

#include "cache/vary.hpp"

namespace hlscache {
namespace {

TEST(Vary, ValuesMatchAcrossLineSplitsAndWhitespace) {
  const std::vector<std::string> names{"accept-language", "x-tier"};
  const auto a = vary_values(names, {{"Accept-Language", "en, fr"}, {"X-Tier", "gold"}});
  const auto b = vary_values(names, {{"accept-language", "en"}, {"x-tier", " gold "}, {"Accept-Language", "fr"}});
  EXPECT_EQ(a, b);
  EXPECT_NE(a, vary_values(names, {{"Accept-Language", "fr, en"}, {"X-Tier", "gold"}}));  // order matters
  EXPECT_NE(a, vary_values(names, {{"Accept-Language", "en, fr"}, {"X-Tier", "Gold"}}));  // values as sent
}

TEST(Vary, AnAbsentFieldMatchesOnlyAnAbsentOne) {
  const std::vector<std::string> names{"x-tier"};
  EXPECT_NE(vary_values(names, {}), vary_values(names, {{"X-Tier", ""}}));
  EXPECT_EQ(vary_values(names, {}), vary_values(names, {{"Other", "1"}}));
}

TEST(Vary, VariantKeysNeverCollideWithRequestTargets) {
  const auto k = variant_key("/a.m3u8", vary_values({"x"}, {{"X", "1"}}));
  EXPECT_NE(k.find('\n'), std::string::npos);  // no request target holds a LF
  EXPECT_EQ(k.rfind("/a.m3u8\n", 0), 0u);     // a purge by prefix still finds it
}

TEST(Vary, TheMarkerKeepsAtMostMaxVariantsOldestOut) {
  const std::vector<std::string> names{"x"};
  std::vector<std::string> evicted;
  const TimePoint t = TimePoint{} + std::chrono::hours(1);
  ObjectPtr m = make_vary_marker(nullptr, names, "a", t, 2, evicted);
  EXPECT_TRUE(m->is_vary_marker());
  m = make_vary_marker(m.get(), names, "b", t + std::chrono::seconds(5), 2, evicted);
  m = make_vary_marker(m.get(), names, "b", t, 2, evicted);  // again: moves to the newest end
  EXPECT_TRUE(evicted.empty());
  m = make_vary_marker(m.get(), names, "c", t, 2, evicted);
  EXPECT_EQ(evicted, (std::vector<std::string>{"a"}));
  EXPECT_EQ(m->variants, (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(m->fresh_until, t + std::chrono::seconds(5));  // lives as long as its longest variant
  // Other names: the old variants are not this marker's any more.
  evicted.clear();
  m = make_vary_marker(m.get(), {"y"}, "d", t, 2, evicted);
  EXPECT_EQ(m->variants, (std::vector<std::string>{"d"}));
}

}  // namespace
}  // namespace hlscache
