// HTTP/1.1 connection reuse rules (source/h1_connection.hpp): what the upstream's
// Keep-Alive field announces (timeout=, max=; every line, quoted or not, the
// smallest value winning) and how long a connection may then wait in the pool: the
// pool's cap, cut to end min(1 s, timeout / 4) before the announced idle timeout.
#include <gtest/gtest.h>

#include "source/h1_connection.hpp"

using namespace hlscache;
using namespace hlscache::h1_upstream;
using namespace std::chrono_literals;

namespace {

KeepAliveHint hint_of(std::vector<std::string> lines) {
  http::fields f;
  for (const auto& l : lines) f.insert(http::field::keep_alive, l);
  return parse_keep_alive(f);
}

}  // namespace

TEST(H1KeepAlive, ParsesTimeoutAndMaxOverEveryLine) {
  auto h = hint_of({"timeout=5, max=100"});
  ASSERT_TRUE(h.timeout && h.max);
  EXPECT_EQ(*h.timeout, Duration(5s));
  EXPECT_EQ(*h.max, 100u);
  h = hint_of({"Timeout=\"3\""});
  ASSERT_TRUE(h.timeout);
  EXPECT_EQ(*h.timeout, Duration(3s));
  EXPECT_FALSE(h.max);
  h = hint_of({"timeout=10", "timeout=2"});
  EXPECT_EQ(*h.timeout, Duration(2s)) << "the cautious reading";
  h = hint_of({"timeout=abc, max=-1, foo=1, max"});
  EXPECT_FALSE(h.timeout);
  EXPECT_FALSE(h.max);
  EXPECT_FALSE(hint_of({}).timeout);
}

TEST(H1KeepAlive, ReuseWindowEndsBeforeTheAnnouncedTimeout) {
  const Duration cap = 4s;
  EXPECT_EQ(reuse_window(KeepAliveHint{}, cap), std::optional<Duration>(cap)) << "nothing announced: the pool's cap";
  EXPECT_EQ(reuse_window(KeepAliveHint{1s, {}}, cap), std::optional<Duration>(750ms)) << "a quarter before 1 s";
  EXPECT_EQ(reuse_window(KeepAliveHint{2s, {}}, cap), std::optional<Duration>(1500ms));
  EXPECT_EQ(reuse_window(KeepAliveHint{5s, {}}, cap), std::optional<Duration>(4s)) << "1 s before 5 s, = the cap";
  EXPECT_EQ(reuse_window(KeepAliveHint{60s, {}}, cap), std::optional<Duration>(cap)) << "the cap still applies";
  EXPECT_EQ(reuse_window(KeepAliveHint{60s, {}}, 120s), std::optional<Duration>(59s));
  EXPECT_FALSE(reuse_window(KeepAliveHint{0s, {}}, cap)) << "timeout=0: not to be reused";
  EXPECT_FALSE(reuse_window(KeepAliveHint{{}, 0}, cap)) << "max=0: no further request";
  EXPECT_EQ(reuse_window(KeepAliveHint{{}, 1}, cap), std::optional<Duration>(cap));
}
