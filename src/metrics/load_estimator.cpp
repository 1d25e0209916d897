#include "metrics/load_estimator.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "metrics/metrics.hpp"

namespace hlscache {

void HoltFilter::add(double r) {
  if (n_++ == 0) {
    level_ = r;
    trend_ = prev_trend_ = 0;
    return;
  }
  const double previous = level_;
  level_ = alpha_ * r + (1 - alpha_) * (level_ + trend_);
  prev_trend_ = trend_;
  trend_ = alpha_ * (level_ - previous) + (1 - alpha_) * trend_;
}

double HoltFilter::alpha_for(Millis step, Millis time_constant) {
  if (time_constant.count() <= 0) return 1;
  return 1 - std::exp(-static_cast<double>(step.count()) / static_cast<double>(time_constant.count()));
}

LoadEstimator::LoadEstimator(Millis interval, double admit_max, Millis smoothing)
    : interval_(interval), smoothing_(smoothing.count() > 0 ? smoothing : 3 * interval), admit_max_(admit_max) {
  std::lock_guard lock(mu_);
  restart_locked();
  update_locked();
}

void LoadEstimator::roll(TimePoint now, std::uint64_t requests_total, std::uint64_t bytes_total) {
  std::lock_guard lock(mu_);
  if (last_at_) {
    const double secs = std::chrono::duration<double>(now - *last_at_).count();
    if (secs > 0) {
      // Counters only grow; a total below the last one (never expected) counts as 0.
      const double rq = requests_total >= last_requests_ ? static_cast<double>(requests_total - last_requests_) / secs : 0;
      const double by = bytes_total >= last_bytes_ ? static_cast<double>(bytes_total - last_bytes_) / secs : 0;
      requests_.push_back(rq);
      bytes_.push_back(by);
      requests_filter_.add(rq);
      bytes_filter_.add(by);
      while (requests_.size() > kWindows) requests_.pop_front();
      while (bytes_.size() > kWindows) bytes_.pop_front();
    }
  }
  last_at_ = now;
  last_requests_ = requests_total;
  last_bytes_ = bytes_total;
  update_locked();
}

void LoadEstimator::reconfigure(Millis interval, double admit_max, Millis smoothing) {
  std::lock_guard lock(mu_);
  const Millis effective = smoothing.count() > 0 ? smoothing : 3 * interval;
  if (interval != interval_ || effective != smoothing_) {
    interval_ = interval;
    smoothing_ = effective;
    restart_locked();
  }
  admit_max_ = admit_max;
  update_locked();
}

void LoadEstimator::restart_locked() {
  requests_.clear();
  bytes_.clear();
  last_at_.reset();
  const double a = HoltFilter::alpha_for(interval_, smoothing_);
  requests_filter_ = HoltFilter(a);
  bytes_filter_ = HoltFilter(a);
}

void LoadEstimator::update_locked() {
  const double secs = std::chrono::duration<double>(interval_).count();
  auto series = [secs](const std::deque<double>& d, const HoltFilter& f) {
    LoadSeries s;
    s.per_second.assign(d.begin(), d.end());
    if (f.empty()) return s;
    s.smoothed = std::max(0.0, f.level());
    s.predicted.value = std::max(0.0, f.forecast());
    s.predicted.slope = f.trend() / secs;                 // per interval -> per second
    s.predicted.curvature = f.trend_change() / (secs * secs);
    return s;
  };
  snapshot_.interval = interval_;
  snapshot_.smoothing = smoothing_;
  snapshot_.requests = series(requests_, requests_filter_);
  snapshot_.bytes = series(bytes_, bytes_filter_);
  snapshot_.ready = requests_.size() == kWindows;
  snapshot_.admit_max_predicted_rps = admit_max_;
  const double predicted = snapshot_.requests.predicted.value;
  const bool was = snapshot_.refusing;
  snapshot_.refusing = admit_max_ > 0 && !requests_filter_.empty() &&
                       (was ? predicted > kReopenFraction * admit_max_ : predicted > admit_max_);
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
  return fmt::format(R"({{"per_second":[{}],"smoothed":{},"predicted":{},"first_derivative":{},"second_derivative":{}}})",
                     windows, json_number(s.smoothed), json_number(s.predicted.value), json_number(s.predicted.slope),
                     json_number(s.predicted.curvature));
}

}  // namespace

std::string LoadEstimator::to_json() const {
  LoadSnapshot s = snapshot();
  return fmt::format(
      R"({{"interval_seconds":{},"smoothing_seconds":{},"ready":{},"requests":{},"bytes":{},"admission":{{"max_predicted_rps":{},"refusing":{}}}}})"
      "\n",
      json_number(std::chrono::duration<double>(s.interval).count()),
      json_number(std::chrono::duration<double>(s.smoothing).count()), s.ready ? "true" : "false",
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
    prom_family(out, (base + "_smoothed").c_str(), "gauge",
                fmt::format("{} served, smoothed (Holt level, time constant load.smoothing).", what).c_str());
    prom_sample(out, (base + "_smoothed").c_str(), "", series.smoothed);
    prom_family(out, (base + "_predicted").c_str(), "gauge",
                fmt::format("{} served, one interval ahead (Holt: smoothed level + trend).", what).c_str());
    prom_sample(out, (base + "_predicted").c_str(), "", series.predicted.value);
    prom_family(out, (base + "_predicted_slope").c_str(), "gauge",
                fmt::format("Trend of the smoothed {}, per second.", what).c_str());
    prom_sample(out, (base + "_predicted_slope").c_str(), "", series.predicted.slope);
    prom_family(out, (base + "_predicted_curvature").c_str(), "gauge",
                fmt::format("Change of the trend of the smoothed {} over the last interval, per second squared.", what).c_str());
    prom_sample(out, (base + "_predicted_curvature").c_str(), "", series.predicted.curvature);
  };
  prom_family(out, "hlscache_load_interval_seconds", "gauge", "Length of one load interval (load.interval).");
  prom_sample(out, "hlscache_load_interval_seconds", "", std::chrono::duration<double>(s.interval).count());
  prom_family(out, "hlscache_load_smoothing_seconds", "gauge", "Time constant of the load filter (load.smoothing).");
  prom_sample(out, "hlscache_load_smoothing_seconds", "", std::chrono::duration<double>(s.smoothing).count());
  prom_family(out, "hlscache_load_intervals_complete", "gauge", "Complete intervals measured, of the last three (0 to 3).");
  prom_sample(out, "hlscache_load_intervals_complete", "", static_cast<double>(s.requests.per_second.size()));
  windows("hlscache_load_requests_per_second", "Requests served per second over a complete interval (window=1: latest).",
          s.requests);
  windows("hlscache_load_bytes_per_second", "Response body bytes per second over a complete interval (window=1: latest).",
          s.bytes);
  forecast("hlscache_load_requests_per_second", "Requests per second", s.requests);
  forecast("hlscache_load_bytes_per_second", "Bytes per second", s.bytes);
  prom_family(out, "hlscache_load_admission_refusing", "gauge",
              "1 while new connections are shed (probes answered, other requests 503) because the predicted served load is above load.admit_max_predicted_rps.");
  prom_sample(out, "hlscache_load_admission_refusing", "", s.refusing ? 1 : 0);
}

}  // namespace hlscache
