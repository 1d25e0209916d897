#include "metrics/load_estimator.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "metrics/metrics.hpp"

namespace hlscache {

SplineForecast natural_spline_forecast(std::span<const double> y) {
  const std::size_t n = y.size();
  if (n == 0) return {};
  if (n == 1) return {y[0], 0, 0};
  // Second derivatives M at the knots (unit spacing): M[0] = M[n-1] = 0 and, inside,
  // M[i-1] + 4 M[i] + M[i+1] = 6 (y[i-1] - 2 y[i] + y[i+1]); tridiagonal, solved by Thomas.
  std::vector<double> m(n, 0.0);
  if (n > 2) {
    const std::size_t k = n - 2;  // unknowns M[1..n-2]
    std::vector<double> c(k, 0.0), d(k, 0.0);
    for (std::size_t j = 0; j < k; ++j) {
      const std::size_t i = j + 1;
      const double rhs = 6.0 * (y[i - 1] - 2.0 * y[i] + y[i + 1]);
      const double denom = 4.0 - (j > 0 ? c[j - 1] : 0.0);
      c[j] = 1.0 / denom;
      d[j] = (rhs - (j > 0 ? d[j - 1] : 0.0)) / denom;
    }
    for (std::size_t j = k; j-- > 0;) m[j + 1] = d[j] - (j + 1 < k ? c[j] * m[j + 2] : 0.0);
  }
  // Last piece on [n-2, n-1], local u = t - (n-2); evaluated at t = n, u = 2.
  const double mi = m[n - 2], mj = m[n - 1], yi = y[n - 2], yj = y[n - 1];
  const double u = 2.0, v = 1.0 - u;
  SplineForecast f;
  f.value = mi * v * v * v / 6.0 + mj * u * u * u / 6.0 + (yi - mi / 6.0) * v + (yj - mj / 6.0) * u;
  f.slope = -mi * v * v / 2.0 + mj * u * u / 2.0 - (yi - mi / 6.0) + (yj - mj / 6.0);
  f.curvature = mi * v + mj * u;
  return f;
}

LoadEstimator::LoadEstimator(Millis interval, double admit_max) : interval_(interval), admit_max_(admit_max) {
  std::lock_guard lock(mu_);
  update_locked();
}

void LoadEstimator::roll(TimePoint now, std::uint64_t requests_total, std::uint64_t bytes_total) {
  std::lock_guard lock(mu_);
  if (last_at_) {
    const double secs = std::chrono::duration<double>(now - *last_at_).count();
    if (secs > 0) {
      requests_.push_back(static_cast<double>(requests_total - last_requests_) / secs);
      bytes_.push_back(static_cast<double>(bytes_total - last_bytes_) / secs);
      while (requests_.size() > kWindows) requests_.pop_front();
      while (bytes_.size() > kWindows) bytes_.pop_front();
    }
  }
  last_at_ = now;
  last_requests_ = requests_total;
  last_bytes_ = bytes_total;
  update_locked();
}

void LoadEstimator::reconfigure(Millis interval, double admit_max) {
  std::lock_guard lock(mu_);
  if (interval != interval_) {
    requests_.clear();
    bytes_.clear();
    last_at_.reset();
  }
  interval_ = interval;
  admit_max_ = admit_max;
  update_locked();
}

void LoadEstimator::update_locked() {
  const double secs = std::chrono::duration<double>(interval_).count();
  auto series = [secs](const std::deque<double>& d) {
    LoadSeries s;
    s.per_second.assign(d.begin(), d.end());
    SplineForecast f = natural_spline_forecast(s.per_second);
    s.predicted.value = std::max(0.0, f.value);
    s.predicted.slope = f.slope / secs;               // per interval -> per second
    s.predicted.curvature = f.curvature / (secs * secs);
    return s;
  };
  snapshot_.interval = interval_;
  snapshot_.requests = series(requests_);
  snapshot_.bytes = series(bytes_);
  snapshot_.ready = requests_.size() == kWindows;
  snapshot_.admit_max_predicted_rps = admit_max_;
  snapshot_.refusing = admit_max_ > 0 && !requests_.empty() && snapshot_.requests.predicted.value > admit_max_;
  refusing_.store(snapshot_.refusing, std::memory_order_relaxed);
  retry_after_s_.store(std::max(1, static_cast<int>(std::ceil(secs))), std::memory_order_relaxed);
}

Millis LoadEstimator::interval() const {
  std::lock_guard lock(mu_);
  return interval_;
}

LoadSnapshot LoadEstimator::snapshot() const {
  std::lock_guard lock(mu_);
  return snapshot_;
}

namespace {

std::string json_number(double v) { return std::isfinite(v) ? fmt::format("{}", v) : "null"; }

std::string series_json(const LoadSeries& s) {
  std::string windows;
  for (double v : s.per_second) windows += (windows.empty() ? "" : ",") + json_number(v);
  return fmt::format(R"({{"per_second":[{}],"predicted":{},"first_derivative":{},"second_derivative":{}}})", windows,
                     json_number(s.predicted.value), json_number(s.predicted.slope),
                     json_number(s.predicted.curvature));
}

}  // namespace

std::string LoadEstimator::to_json() const {
  LoadSnapshot s = snapshot();
  return fmt::format(
      R"({{"interval_seconds":{},"ready":{},"requests":{},"bytes":{},"admission":{{"max_predicted_rps":{},"refusing":{}}}}})"
      "\n",
      json_number(std::chrono::duration<double>(s.interval).count()), s.ready ? "true" : "false",
      series_json(s.requests), series_json(s.bytes), json_number(s.admit_max_predicted_rps),
      s.refusing ? "true" : "false");
}

void LoadEstimator::collect(std::string& out) const {
  LoadSnapshot s = snapshot();
  auto windows = [&](const char* name, const char* help, const LoadSeries& series) {
    prom_family(out, name, "gauge", help);
    // window="1" is the latest complete interval, "2" the one before, "3" the oldest.
    const std::size_t n = series.per_second.size();
    for (std::size_t i = 0; i < n; ++i)
      prom_sample(out, name, fmt::format("window=\"{}\"", n - i), series.per_second[i]);
  };
  auto forecast = [&](const std::string& base, const char* what, const LoadSeries& series) {
    prom_family(out, (base + "_predicted").c_str(), "gauge",
                fmt::format("{} one interval ahead (natural cubic spline through the last three intervals).", what).c_str());
    prom_sample(out, (base + "_predicted").c_str(), "", series.predicted.value);
    prom_family(out, (base + "_predicted_slope").c_str(), "gauge",
                fmt::format("First derivative of the {} spline at the prediction point, per second.", what).c_str());
    prom_sample(out, (base + "_predicted_slope").c_str(), "", series.predicted.slope);
    prom_family(out, (base + "_predicted_curvature").c_str(), "gauge",
                fmt::format("Second derivative of the {} spline at the prediction point, per second squared.", what).c_str());
    prom_sample(out, (base + "_predicted_curvature").c_str(), "", series.predicted.curvature);
  };
  prom_family(out, "hlscache_load_interval_seconds", "gauge", "Length of one load interval (load.interval).");
  prom_sample(out, "hlscache_load_interval_seconds", "", std::chrono::duration<double>(s.interval).count());
  prom_family(out, "hlscache_load_intervals_complete", "gauge", "Complete intervals the estimate uses (0 to 3).");
  prom_sample(out, "hlscache_load_intervals_complete", "", static_cast<double>(s.requests.per_second.size()));
  windows("hlscache_load_requests_per_second", "Requests per second over a complete interval (window=1: latest).",
          s.requests);
  windows("hlscache_load_bytes_per_second", "Response body bytes per second over a complete interval (window=1: latest).",
          s.bytes);
  forecast("hlscache_load_requests_per_second", "Requests per second", s.requests);
  forecast("hlscache_load_bytes_per_second", "Bytes per second", s.bytes);
  prom_family(out, "hlscache_load_admission_refusing", "gauge",
              "1 while new connections are refused because the predicted load is above load.admit_max_predicted_rps.");
  prom_sample(out, "hlscache_load_admission_refusing", "", s.refusing ? 1 : 0);
}

}  // namespace hlscache
