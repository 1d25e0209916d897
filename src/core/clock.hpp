// Time for the data path. Components never call a clock themselves where a test
// must control time: they take `TimePoint now` as an argument (the cache, the
// freshness rules, the cutter) or hold a `const Clock&` (injectable in tests).
#pragma once

#include <atomic>
#include <chrono>

namespace hlscache {

using SteadyClock = std::chrono::steady_clock;
using TimePoint = SteadyClock::time_point;
using Duration = SteadyClock::duration;
// Wall-clock time, for what a viewer compares with a calendar (PROGRAM-DATE-TIME).
using WallTime = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override { return SteadyClock::now(); }
  static const SystemClock& instance() {
    static const SystemClock c;
    return c;
  }
};

// A clock tests move by hand.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start = TimePoint{} + std::chrono::hours(1)) : t_(start.time_since_epoch().count()) {}
  TimePoint now() const override { return TimePoint(Duration(t_.load())); }
  void advance(Duration d) { t_ += d.count(); }

 private:
  std::atomic<Duration::rep> t_;
};

}  // namespace hlscache
