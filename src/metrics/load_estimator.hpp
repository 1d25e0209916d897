// LoadEstimator: the node's load (requests/s, bytes/s) over the last three
// complete intervals (sampled from the cumulative counters every load.interval,
// nothing added to the request path) and a one-interval-ahead prediction by a natural cubic spline
// through them, with its first and second derivatives — what a DNS/GSLB
// controller reads (/admin/load, /metrics) to steer viewers away before this node
// saturates, and what optional admission control compares with its bound.
//
// Spline: samples r0, r1, r2 at t = 0, 1, 2 (in intervals); the natural cubic
// spline (S'' = 0 at both ends) through them; its last piece, on [1, 2], is
// extended as the same cubic polynomial to t = 3. Why natural, not not-a-knot (the
// only other common choice; with three points not-a-knot degenerates to the
// interpolating parabola): the natural spline is the interpolant of least
// curvature (it minimises the integral of S''^2), so it invents no acceleration
// the data do not force. With three points its value at t = 3 is exactly
// 2·r2 − r1 — the last interval's trend continued — so one noisy interval moves
// the forecast by at most 2x its error (the parabola's r0 − 3·r1 + 3·r2 by 3x,
// noise gain √19 against √5). Consequences, tested in tests/unit/metrics:
// constant -> flat, linear -> exact, r = t^2 (0, 1, 4) -> 7 with slope 2 and
// second derivative −3 (the natural spline's curvature falls linearly to 0 at
// t = 2 and continues past it, so at t = 3 it has the opposite sign of the data's
// curvature: read the value and slope for steering). With fewer than three
// complete intervals the same construction gives a line (two) or a constant (one).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/units.hpp"

namespace hlscache {

// A natural cubic spline's forecast one step past its last sample, in the
// samples' unit (value), per step (slope) and per step squared (curvature).
struct SplineForecast {
  double value = 0;
  double slope = 0;
  double curvature = 0;
};

// Samples at t = 0, 1, ..., n-1 (n >= 1; any n, though the estimator uses <= 3);
// evaluated at t = n on the last piece's cubic. n == 0 gives zeros.
SplineForecast natural_spline_forecast(std::span<const double> samples);

struct LoadSeries {
  std::vector<double> per_second;  // complete intervals, oldest first (at most 3)
  SplineForecast predicted;        // value per second; slope per s; curvature per s^2 (clamped: value >= 0)
};

struct LoadSnapshot {
  Millis interval{0};
  LoadSeries requests, bytes;
  bool ready = false;              // three complete intervals
  double admit_max_predicted_rps = 0;
  bool refusing = false;
};

class LoadEstimator {
 public:
  static constexpr std::size_t kWindows = 3;

  LoadEstimator(Millis interval, double admit_max_predicted_rps);

  // Called once per interval with the cumulative totals; rates are deltas over the
  // time actually elapsed since the previous call (the first call sets the baseline).
  void roll(TimePoint now, std::uint64_t requests_total, std::uint64_t bytes_total);
  // Reload: a new interval restarts the series (old samples had another length).
  void reconfigure(Millis interval, double admit_max_predicted_rps);

  Millis interval() const;
  LoadSnapshot snapshot() const;
  // Admission control: true while the predicted requests/s is above the configured bound.
  bool refusing() const { return refusing_.load(std::memory_order_relaxed); }
  // Seconds for Retry-After: one interval (the prediction is recomputed then), at least 1.
  int retry_after_seconds() const { return retry_after_s_.load(std::memory_order_relaxed); }

  std::string to_json() const;
  void collect(std::string& out) const;  // Prometheus families

 private:
  void update_locked();

  mutable std::mutex mu_;
  Millis interval_;
  double admit_max_;
  std::optional<TimePoint> last_at_;
  std::uint64_t last_requests_ = 0, last_bytes_ = 0;
  std::deque<double> requests_, bytes_;
  LoadSnapshot snapshot_;
  std::atomic<bool> refusing_{false};
  std::atomic<int> retry_after_s_{1};
};

}  // namespace hlscache
