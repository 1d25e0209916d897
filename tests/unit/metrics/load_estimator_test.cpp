#include "metrics/load_estimator.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

using namespace hlscache;
using namespace std::chrono_literals;

namespace {

// The filter's forecasts after each sample of `xs`.
std::vector<double> forecasts(const std::vector<double>& xs, double alpha) {
  HoltFilter f(alpha);
  std::vector<double> out;
  for (double x : xs) {
    f.add(x);
    out.push_back(f.forecast());
  }
  return out;
}

const double kAlpha3 = 1 - std::exp(-1.0 / 3);  // the default: time constant 3 intervals

}  // namespace

TEST(HoltFilter, AlphaFromTheTimeConstant) {
  EXPECT_NEAR(HoltFilter::alpha_for(1000ms, 3000ms), kAlpha3, 1e-12);
  EXPECT_NEAR(HoltFilter::alpha_for(250ms, 250ms), 1 - std::exp(-1.0), 1e-12);
  EXPECT_EQ(HoltFilter::alpha_for(1000ms, 0ms), 1);  // no smoothing
}

TEST(HoltFilter, FirstSampleStartsTheLevelWithNoTrend) {
  HoltFilter f(kAlpha3);
  EXPECT_TRUE(f.empty());
  f.add(120);
  EXPECT_DOUBLE_EQ(f.level(), 120);
  EXPECT_DOUBLE_EQ(f.trend(), 0);
  EXPECT_DOUBLE_EQ(f.forecast(), 120);
}

TEST(HoltFilter, OneUpdateByHand) {
  HoltFilter f(0.5);
  f.add(100);
  f.add(200);  // level = 0.5·200 + 0.5·(100 + 0) = 150; trend = 0.5·(150 − 100) + 0.5·0 = 25
  EXPECT_DOUBLE_EQ(f.level(), 150);
  EXPECT_DOUBLE_EQ(f.trend(), 25);
  EXPECT_DOUBLE_EQ(f.forecast(), 175);
  EXPECT_DOUBLE_EQ(f.trend_change(), 25);
}

TEST(HoltFilter, ConstantSeriesStaysFlat) {
  for (double v : forecasts({120, 120, 120, 120, 120}, kAlpha3)) EXPECT_DOUBLE_EQ(v, 120);
}

TEST(HoltFilter, SteadyRampIsFollowedNotLagged) {
  // 100, 110, 120, ...: once the trend term has caught up the forecast is the next sample.
  std::vector<double> ramp;
  for (int i = 0; i < 40; ++i) ramp.push_back(100 + 10 * i);
  const auto f = forecasts(ramp, kAlpha3);
  EXPECT_NEAR(f.back(), 100 + 10 * 40, 5);
}

TEST(HoltFilter, LoadArrivingInStepStaysNearItsMean) {
  // Viewers fetching together every 2 intervals: the rates alternate 230, 0 (mean 115).
  // The old forecast, 2·r2 − r1, gave 460 and −230 (0 clamped) in turn.
  std::vector<double> xs;
  for (int i = 0; i < 60; ++i) xs.push_back(i % 2 ? 0 : 230);
  const auto f = forecasts(xs, kAlpha3);
  const auto [lo, hi] = std::minmax_element(f.begin() + 20, f.end());  // after it settled
  EXPECT_GT(*lo, 0.75 * 115);
  EXPECT_LT(*hi, 1.3 * 115);
}

TEST(HoltFilter, OneNoisyIntervalMovesTheForecastLessThanTheNoise) {
  std::vector<double> xs(20, 100);
  const double before = forecasts(xs, kAlpha3).back();
  xs.push_back(200);  // one interval 100 over
  const double after = forecasts(xs, kAlpha3).back();
  EXPECT_NEAR(before, 100, 1e-9);
  EXPECT_LT(after - before, 100 * 2 * kAlpha3 + 1e-9);  // a·(1 + a) of the error: ~36 %, not 200 %
  EXPECT_GT(after - before, 0);
}

TEST(LoadEstimator, RatesFromCumulativeCountersOverElapsedTime) {
  LoadEstimator est(1000ms, 0, 1000ms);
  TimePoint t{};
  est.roll(t, 0, 0);  // baseline
  EXPECT_EQ(est.snapshot().requests.per_second.size(), 0u);
  est.roll(t + 1s, 100, 1'000'000);
  est.roll(t + 2s, 250, 2'000'000);
  est.roll(t + 4s, 650, 4'000'000);  // a late timer: 400 requests over 2 s = 200/s
  auto s = est.snapshot();
  ASSERT_TRUE(s.ready);
  ASSERT_EQ(s.requests.per_second.size(), 3u);
  EXPECT_DOUBLE_EQ(s.requests.per_second[0], 100);
  EXPECT_DOUBLE_EQ(s.requests.per_second[1], 150);
  EXPECT_DOUBLE_EQ(s.requests.per_second[2], 200);
  EXPECT_DOUBLE_EQ(s.bytes.per_second[2], 1'000'000);
  // The same filter, fed by hand, gives the snapshot's numbers.
  HoltFilter f(HoltFilter::alpha_for(1000ms, 1000ms));
  for (double r : {100.0, 150.0, 200.0}) f.add(r);
  EXPECT_DOUBLE_EQ(s.requests.smoothed, f.level());
  EXPECT_DOUBLE_EQ(s.requests.predicted.value, f.forecast());
  EXPECT_DOUBLE_EQ(s.requests.predicted.slope, f.trend());  // per second (interval 1 s)
  // A fourth interval pushes the oldest raw rate out.
  est.roll(t + 5s, 650, 4'000'000);
  s = est.snapshot();
  EXPECT_DOUBLE_EQ(s.requests.per_second[0], 150);
  EXPECT_DOUBLE_EQ(s.requests.per_second[2], 0);
  EXPECT_GE(s.requests.predicted.value, 0);  // a rate is never predicted negative
}

TEST(LoadEstimator, DerivativesArePerSecond) {
  LoadEstimator est(10'000ms, 0, 10'000ms);
  TimePoint t{};
  est.roll(t, 0, 0);
  est.roll(t + 10s, 0, 0);        // 0/s
  est.roll(t + 20s, 10, 0);       // 1/s
  est.roll(t + 30s, 50, 0);       // 4/s
  HoltFilter f(HoltFilter::alpha_for(10'000ms, 10'000ms));
  for (double r : {0.0, 1.0, 4.0}) f.add(r);
  auto s = est.snapshot();
  EXPECT_DOUBLE_EQ(s.requests.predicted.slope, f.trend() / 10);               // per interval / 10 s
  EXPECT_DOUBLE_EQ(s.requests.predicted.curvature, f.trend_change() / 100);   // per interval^2 / 100 s^2
  EXPECT_EQ(s.smoothing, 10'000ms);
}

TEST(LoadEstimator, DefaultSmoothingIsThreeIntervals) {
  LoadEstimator est(250ms, 0);
  EXPECT_EQ(est.snapshot().smoothing, 750ms);
}

TEST(LoadEstimator, AdmissionRefusesAboveTheBoundAndReopensBelowNinetyPercent) {
  LoadEstimator est(1000ms, 100, 1ms);  // ~no smoothing: the forecast is level + trend of the raw rates
  TimePoint t{};
  est.roll(t, 0, 0);
  EXPECT_FALSE(est.refusing());  // nothing measured yet
  est.roll(t + 1s, 120, 0);      // 120/s: above 100
  EXPECT_TRUE(est.refusing());
  EXPECT_EQ(est.retry_after_seconds(), 1);
  est.roll(t + 2s, 120 + 95, 0);  // 95/s: trend −25, forecast 70 — at or below 90: reopens
  EXPECT_FALSE(est.refusing());
  // Hysteresis: once refusing, a forecast between 90 and 100 keeps refusing.
  LoadEstimator h(1000ms, 100, 1ms);
  h.roll(t, 0, 0);
  h.roll(t + 1s, 101, 0);
  ASSERT_TRUE(h.refusing());
  h.roll(t + 2s, 101 + 96, 0);   // 96/s: forecast 96 − 5 = 91 > 90
  EXPECT_TRUE(h.refusing()) << h.snapshot().requests.predicted.value;
  h.roll(t + 3s, 101 + 96 + 93, 0);  // 93/s: forecast 93 − 3 = 90: reopens
  EXPECT_FALSE(h.refusing()) << h.snapshot().requests.predicted.value;
  // Off when the bound is 0.
  est.reconfigure(1000ms, 0, 1ms);
  est.roll(t + 4s, 10'000, 0);
  EXPECT_FALSE(est.refusing());
}

TEST(LoadEstimator, NewIntervalOrSmoothingRestartsTheSeries) {
  LoadEstimator est(1000ms, 0);
  TimePoint t{};
  est.roll(t, 0, 0);
  est.roll(t + 1s, 10, 0);
  est.reconfigure(2000ms, 0);
  EXPECT_EQ(est.snapshot().requests.per_second.size(), 0u);
  EXPECT_EQ(est.interval(), 2000ms);
  EXPECT_EQ(est.retry_after_seconds(), 2);
  est.roll(t + 2s, 20, 0);
  est.roll(t + 4s, 40, 0);
  ASSERT_EQ(est.snapshot().requests.per_second.size(), 1u);
  est.reconfigure(2000ms, 0, 10'000ms);
  EXPECT_EQ(est.snapshot().requests.per_second.size(), 0u);
  EXPECT_EQ(est.snapshot().smoothing, 10'000ms);
}

TEST(LoadEstimator, JsonAndPrometheusCarryTheEstimate) {
  LoadEstimator est(1000ms, 500, 1000ms);
  TimePoint t{};
  est.roll(t, 0, 0);
  est.roll(t + 1s, 100, 1000);
  est.roll(t + 2s, 200, 2000);
  est.roll(t + 3s, 300, 3000);  // a constant 100/s: the filter says 100 with no trend
  const std::string j = est.to_json();
  EXPECT_NE(j.find(R"("interval_seconds":1,"smoothing_seconds":1)"), std::string::npos) << j;
  EXPECT_NE(j.find(R"("ready":true)"), std::string::npos) << j;
  EXPECT_NE(j.find(R"("requests":{"per_second":[100,100,100],"smoothed":100,"predicted":100,"first_derivative":0,"second_derivative":0})"),
            std::string::npos)
      << j;
  EXPECT_NE(j.find(R"("admission":{"max_predicted_rps":500,"refusing":false})"), std::string::npos) << j;
  std::string m;
  est.collect(m);
  EXPECT_NE(m.find("hlscache_load_requests_per_second{window=\"1\"} 100\n"), std::string::npos) << m;
  EXPECT_NE(m.find("hlscache_load_requests_per_second_smoothed 100\n"), std::string::npos) << m;
  EXPECT_NE(m.find("hlscache_load_requests_per_second_predicted 100\n"), std::string::npos) << m;
  EXPECT_NE(m.find("hlscache_load_requests_per_second_predicted_slope 0\n"), std::string::npos) << m;
  EXPECT_NE(m.find("hlscache_load_bytes_per_second_predicted 1000\n"), std::string::npos) << m;
  EXPECT_NE(m.find("hlscache_load_smoothing_seconds 1\n"), std::string::npos) << m;
  EXPECT_NE(m.find("hlscache_load_admission_refusing 0\n"), std::string::npos) << m;
}
