#include "metrics/viewers.hpp"

#include <gtest/gtest.h>

using namespace hlscache;
using namespace std::chrono_literals;

TEST(ViewerTracker, DistinctAddressesWithinTheWindow) {
  ViewerTracker v;
  TimePoint t{};
  v.note("s", "10.0.0.1", t);
  v.note("s", "10.0.0.1", t + 1s);  // the same viewer reloading
  v.note("s", "10.0.0.2", t + 1s);
  v.note("other", "10.0.0.3", t + 1s);
  EXPECT_EQ(v.count("s", t + 2s, 4s).viewers, 2u);
  EXPECT_EQ(v.count("other", t + 2s, 4s).viewers, 1u);
  EXPECT_EQ(v.count("none", t + 2s, 4s).viewers, 0u);
  // 10.0.0.2 stops; 10.0.0.1 goes on.
  v.note("s", "10.0.0.1", t + 5s);
  EXPECT_EQ(v.count("s", t + 6s, 4s).viewers, 1u);
}

TEST(ViewerTracker, BoundedPerStream) {
  ViewerTracker v(2);
  TimePoint t{};
  v.note("s", "a", t);
  v.note("s", "b", t);
  v.note("s", "c", t);  // full: not recorded
  auto c = v.count("s", t, 10s);
  EXPECT_EQ(c.viewers, 2u);
  EXPECT_TRUE(c.saturated);
  // Once the old ones are past the window, new viewers get in.
  v.note("s", "d", t + 20s);
  EXPECT_EQ(v.count("s", t + 20s, 10s).viewers, 1u);
}
