// IoDeadline: one timer per connection; a deadline fires on_expire once it passes
// (and again each granularity until the owner sets or clears it), later set() calls
// push it out without touching the timer, clear() disarms it, and nothing runs after
// the owner is gone.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <memory>

#include "http/io_deadline.hpp"

namespace hlscache {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;

// Runs `io` for `d` of wall time.
void run_for(asio::io_context& io, Duration d) {
  io.restart();
  io.run_for(d);
}

TEST(IoDeadline, FiresWhenTheDeadlinePasses) {
  asio::io_context io;
  int fired = 0;
  IoDeadline dl(io.get_executor(), 50ms, [&] { ++fired; });
  const auto t0 = SteadyClock::now();
  dl.set(120ms);
  TimePoint fired_at{};
  while (fired == 0 && SteadyClock::now() - t0 < 2s) {
    run_for(io, 5ms);
    if (fired && fired_at == TimePoint{}) fired_at = SteadyClock::now();
  }
  ASSERT_EQ(fired, 1);
  EXPECT_TRUE(dl.expired());
  EXPECT_GE(fired_at - t0, 120ms);
  EXPECT_LT(fired_at - t0, 1s);
  dl.set(1s);
  EXPECT_FALSE(dl.expired()) << "a new deadline clears the expired state";
  run_for(io, 150ms);
  EXPECT_EQ(fired, 1) << "the new deadline has not passed";
}

TEST(IoDeadline, SettingAgainPushesTheDeadlineOut) {
  asio::io_context io;
  int fired = 0;
  IoDeadline dl(io.get_executor(), 40ms, [&] { ++fired; });
  const auto t0 = SteadyClock::now();
  // Re-set every 20 ms for 300 ms: the 100 ms deadline never passes.
  while (SteadyClock::now() - t0 < 300ms) {
    dl.set(100ms);
    run_for(io, 20ms);
  }
  EXPECT_EQ(fired, 0);
  run_for(io, 250ms);
  EXPECT_GE(fired, 1);
}

TEST(IoDeadline, ClearDisarmsAndShortDeadlinesAreExact) {
  asio::io_context io;
  int fired = 0;
  IoDeadline dl(io.get_executor(), 10s, [&] { ++fired; });
  dl.set(30ms);  // far below the granularity: the timer is moved to it
  dl.clear();
  run_for(io, 100ms);
  EXPECT_EQ(fired, 0);
  EXPECT_FALSE(dl.expired());

  const auto t0 = SteadyClock::now();
  dl.set(60ms);
  while (fired == 0 && SteadyClock::now() - t0 < 2s) run_for(io, 5ms);
  EXPECT_EQ(fired, 1);
  EXPECT_LT(SteadyClock::now() - t0, 1s) << "waited for the 10 s granularity instead of the 60 ms deadline";
}

// An operation may complete just before the cancel and be followed by another: the
// expiry stays, and on_expire runs again every granularity until set() or clear().
TEST(IoDeadline, ExpiryIsStickyUntilSetOrClear) {
  asio::io_context io;
  int fired = 0;
  IoDeadline dl(io.get_executor(), 30ms, [&] { ++fired; });
  dl.set(30ms);
  run_for(io, 200ms);
  EXPECT_GE(fired, 3) << "cancelled once only";
  EXPECT_TRUE(dl.expired());
  dl.clear();
  EXPECT_FALSE(dl.expired());
  const int at_clear = fired;
  run_for(io, 150ms);
  EXPECT_LE(fired, at_clear + 1) << "still cancelling after clear()";  // one tick may be queued already
}

TEST(IoDeadline, NothingRunsAfterTheOwnerIsGone) {
  asio::io_context io;
  auto fired = std::make_shared<int>(0);
  {
    IoDeadline dl(io.get_executor(), 20ms, [fired] { ++*fired; });
    dl.set(20ms);
  }
  run_for(io, 100ms);
  EXPECT_EQ(*fired, 0);
}

}  // namespace
}  // namespace hlscache
