// LoadEstimator: the node's served load (requests/s, bytes/s), sampled from the
// cumulative counters every load.interval (nothing added to the request path), smoothed,
// and predicted one interval ahead — what a DNS/GSLB controller reads (/admin/load,
// /metrics) to steer viewers away before this node saturates, and what optional
// admission control compares with its bound.
//
// What is counted: requests the node served. Answers it gave instead of serving —
// admission control's 503s and the drain's 503s — are not load (Metrics::requests_served()):
// counting them made a refusing node see its own refusals (and the retries they
// provoke) as demand and refuse for as long as clients kept retrying.
//
// Filter: Holt's linear (double exponential) smoothing of each interval's rate r_k,
//   level_k = a·r_k + (1 − a)·(level_{k−1} + trend_{k−1})
//   trend_k = a·(level_k − level_{k−1}) + (1 − a)·trend_{k−1}
//   forecast = level_k + trend_k                       (one interval ahead, >= 0)
// with a = 1 − exp(−interval / smoothing) for both (smoothing: load.smoothing, a time
// constant; default 3 intervals, a ≈ 0.28), started at level_0 = r_0, trend_0 = 0. The
// slope reported is trend / interval (per s), the curvature the change of that slope
// over the last interval (per s²). Why: the previous forecast, a natural cubic spline
// through the raw last three rates (2·r2 − r1), doubled every interval's noise, and a
// load with the period of the segment duration (viewers fetching in step every 2 s)
// sampled every 1 s swung it 0 <-> 2× the mean; the filter holds such a load within
// about ±25 % of its mean (tests/unit/metrics/load_estimator_test.cpp) and still
// follows a real ramp (a trend term, so a steady rise is predicted, not lagged).
//
// Admission: refusing starts when the forecast is above load.admit_max_predicted_rps and
// ends when it falls to 90 % of it or below (hysteresis, so a forecast hovering at the
// bound does not flip every interval).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/units.hpp"

namespace hlscache {

// One interval ahead, in the samples' unit (value), per second (slope) and per second squared (curvature).
struct LoadForecast {
  double value = 0;
  double slope = 0;
  double curvature = 0;
};

// Holt's linear smoothing of a series sampled once per step (see above).
class HoltFilter {
 public:
  explicit HoltFilter(double alpha) : alpha_(alpha) {}
  void add(double sample);
  bool empty() const { return n_ == 0; }
  double level() const { return level_; }
  double trend() const { return trend_; }            // per step
  double trend_change() const { return trend_ - prev_trend_; }  // per step, over the last step
  double forecast() const { return level_ + trend_; }  // one step ahead (not clamped)
  // a = 1 − exp(−step / time_constant); 1 (no smoothing) for a time constant of 0.
  static double alpha_for(Millis step, Millis time_constant);

 private:
  double alpha_;
  std::size_t n_ = 0;
  double level_ = 0, trend_ = 0, prev_trend_ = 0;
};

struct LoadSeries {
  std::vector<double> per_second;  // measured, complete intervals, oldest first (at most 3)
  double smoothed = 0;             // the filter's level, per second
  LoadForecast predicted;          // clamped: value >= 0
};

struct LoadSnapshot {
  Millis interval{0};
  Millis smoothing{0};             // the time constant in effect
  LoadSeries requests, bytes;
  bool ready = false;              // three complete intervals
  double admit_max_predicted_rps = 0;
  bool refusing = false;
};

class LoadEstimator {
 public:
  static constexpr std::size_t kWindows = 3;
  static constexpr double kReopenFraction = 0.9;  // refusing ends at or below this x the bound

  // smoothing 0: 3 x interval.
  LoadEstimator(Millis interval, double admit_max_predicted_rps, Millis smoothing = Millis{0});

  // Called once per interval with the cumulative totals of served requests and body
  // bytes; rates are deltas over the time actually elapsed since the previous call
  // (the first call sets the baseline).
  void roll(TimePoint now, std::uint64_t requests_total, std::uint64_t bytes_total);
  // Reload: a new interval or smoothing restarts the series (old samples had another length).
  void reconfigure(Millis interval, double admit_max_predicted_rps, Millis smoothing = Millis{0});

  Millis interval() const;
  LoadSnapshot snapshot() const;
  // Admission control: true while the forecast requests/s is above the configured bound
  // (until it falls to kReopenFraction of it).
  bool refusing() const { return refusing_.load(std::memory_order_relaxed); }
  // Seconds for Retry-After: one interval (the prediction is recomputed then), at least 1.
  int retry_after_seconds() const { return retry_after_s_.load(std::memory_order_relaxed); }

  std::string to_json() const;
  void collect(std::string& out) const;  // Prometheus families

 private:
  void restart_locked();
  void update_locked();

  mutable std::mutex mu_;
  Millis interval_;
  Millis smoothing_;
  double admit_max_;
  std::optional<TimePoint> last_at_;
  std::uint64_t last_requests_ = 0, last_bytes_ = 0;
  std::deque<double> requests_, bytes_;
  HoltFilter requests_filter_{1}, bytes_filter_{1};
  LoadSnapshot snapshot_;
  std::atomic<bool> refusing_{false};
  std::atomic<int> retry_after_s_{1};
};

}  // namespace hlscache
