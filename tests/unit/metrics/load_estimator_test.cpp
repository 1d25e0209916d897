#include "metrics/load_estimator.hpp"

#include <gtest/gtest.h>

#include <vector>

using namespace hlscache;
using namespace std::chrono_literals;

namespace {

SplineForecast forecast(std::vector<double> y) { return natural_spline_forecast(y); }

}  // namespace

TEST(NaturalSpline, ConstantSeriesStaysFlat) {
  auto f = forecast({120, 120, 120});
  EXPECT_DOUBLE_EQ(f.value, 120);
  EXPECT_DOUBLE_EQ(f.slope, 0);
  EXPECT_DOUBLE_EQ(f.curvature, 0);
}

TEST(NaturalSpline, LinearSeriesIsExtrapolatedExactly) {
  auto f = forecast({100, 150, 200});
  EXPECT_DOUBLE_EQ(f.value, 250);
  EXPECT_DOUBLE_EQ(f.slope, 50);
  EXPECT_DOUBLE_EQ(f.curvature, 0);
  auto down = forecast({300, 200, 100});
  EXPECT_DOUBLE_EQ(down.value, 0);
  EXPECT_DOUBLE_EQ(down.slope, -100);
}

TEST(NaturalSpline, QuadraticSeriesGivesTheNaturalSplinesKnownValue) {
  // y = t^2 at 0, 1, 2: M1 = 1.5 (0 - 2 + 4) = 3. On [1, 2] extended to t = 3:
  // S(3) = 2·4 − 1 = 7 (the parabola would say 9), S'(3) = (4 − 1) − 3/3 = 2, S''(3) = −M1 = −3.
  auto f = forecast({0, 1, 4});
  EXPECT_DOUBLE_EQ(f.value, 7);
  EXPECT_DOUBLE_EQ(f.slope, 2);
  EXPECT_DOUBLE_EQ(f.curvature, -3);
  // Scaled and shifted: y = 10 t^2 + 5 -> 10·7 + 5, slope 20, curvature −30.
  auto g = forecast({5, 15, 45});
  EXPECT_DOUBLE_EQ(g.value, 75);
  EXPECT_DOUBLE_EQ(g.slope, 20);
  EXPECT_DOUBLE_EQ(g.curvature, -30);
}

TEST(NaturalSpline, ValueIsTheLastIntervalsTrendWhateverTheFirstPoint) {
  // With three points the natural spline's forecast is 2·r2 − r1 (r0 shapes only the derivatives).
  for (double r0 : {0.0, 50.0, 500.0}) {
    auto f = forecast({r0, 100, 130});
    EXPECT_DOUBLE_EQ(f.value, 160) << r0;
  }
}

TEST(NaturalSpline, FewerPointsGiveLineOrConstant) {
  EXPECT_DOUBLE_EQ(forecast({}).value, 0);
  auto one = forecast({42});
  EXPECT_DOUBLE_EQ(one.value, 42);
  EXPECT_DOUBLE_EQ(one.slope, 0);
  auto two = forecast({10, 30});
  EXPECT_DOUBLE_EQ(two.value, 50);
  EXPECT_DOUBLE_EQ(two.slope, 20);
  EXPECT_DOUBLE_EQ(two.curvature, 0);
}

TEST(NaturalSpline, MorePointsSolveTheTridiagonalSystem) {
  // Four points of a line: all M are 0, the line continues.
  auto f = forecast({1, 3, 5, 7});
  EXPECT_NEAR(f.value, 9, 1e-12);
  EXPECT_NEAR(f.slope, 2, 1e-12);
  EXPECT_NEAR(f.curvature, 0, 1e-12);
  // y = t^3 at 0..3: M1 = 4/15·... solved: 4 M1 + M2 = 36, M1 + 4 M2 = 72 -> M1 = 4.8, M2 = 16.8.
  // Last piece [2, 3] at t = 4 (u = 2): S'' = M2·(1 − 2) + 0 = −16.8.
  auto c = forecast({0, 1, 8, 27});
  EXPECT_NEAR(c.curvature, -16.8, 1e-9);
  EXPECT_NEAR(c.value, 2 * 27 - 8 + 16.8 * (-1.0 / 6.0) + 16.8 / 6.0, 1e-9);  // = 46
}

TEST(LoadEstimator, RatesFromCumulativeCountersOverElapsedTime) {
  LoadEstimator est(1000ms, 0);
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
  EXPECT_DOUBLE_EQ(s.requests.predicted.value, 250);
  EXPECT_DOUBLE_EQ(s.requests.predicted.slope, 50);  // per second (interval 1 s)
  EXPECT_DOUBLE_EQ(s.bytes.per_second[2], 1'000'000);
  EXPECT_DOUBLE_EQ(s.bytes.predicted.value, 1'000'000);
  // A fourth interval pushes the oldest out.
  est.roll(t + 5s, 650, 4'000'000);
  s = est.snapshot();
  EXPECT_DOUBLE_EQ(s.requests.per_second[0], 150);
  EXPECT_DOUBLE_EQ(s.requests.per_second[2], 0);
  EXPECT_DOUBLE_EQ(s.requests.predicted.value, 0);  // 2·0 − 200 clamped: a rate is never negative
}

TEST(LoadEstimator, DerivativesArePerSecond) {
  LoadEstimator est(10'000ms, 0);
  TimePoint t{};
  est.roll(t, 0, 0);
  est.roll(t + 10s, 0, 0);        // 0/s
  est.roll(t + 20s, 10, 0);       // 1/s
  est.roll(t + 30s, 50, 0);       // 4/s
  auto s = est.snapshot();
  EXPECT_DOUBLE_EQ(s.requests.predicted.value, 7);
  EXPECT_DOUBLE_EQ(s.requests.predicted.slope, 2.0 / 10);        // per interval / 10 s
  EXPECT_DOUBLE_EQ(s.requests.predicted.curvature, -3.0 / 100);  // per interval^2 / 100 s^2
}

TEST(LoadEstimator, AdmissionRefusesAbovePredictedBoundAndReopens) {
  LoadEstimator est(1000ms, 100);
  TimePoint t{};
  est.roll(t, 0, 0);
  EXPECT_FALSE(est.refusing());  // nothing measured yet
  est.roll(t + 1s, 60, 0);
  est.roll(t + 2s, 150, 0);      // 60/s, 90/s: predicted 120 > 100
  EXPECT_TRUE(est.refusing());
  EXPECT_EQ(est.retry_after_seconds(), 1);
  est.roll(t + 3s, 230, 0);      // 80/s after 90/s: predicted 70
  EXPECT_FALSE(est.refusing());
  // Off when the bound is 0.
  est.reconfigure(1000ms, 0);
  est.roll(t + 4s, 10'000, 0);
  EXPECT_FALSE(est.refusing());
}

TEST(LoadEstimator, NewIntervalRestartsTheSeries) {
  LoadEstimator est(1000ms, 0);
  TimePoint t{};
  est.roll(t, 0, 0);
  est.roll(t + 1s, 10, 0);
  est.reconfigure(2000ms, 0);
  EXPECT_EQ(est.snapshot().requests.per_second.size(), 0u);
  EXPECT_EQ(est.interval(), 2000ms);
  EXPECT_EQ(est.retry_after_seconds(), 2);
}

TEST(LoadEstimator, JsonAndPrometheusCarryTheEstimate) {
  LoadEstimator est(1000ms, 500);
  TimePoint t{};
  est.roll(t, 0, 0);
  est.roll(t + 1s, 100, 1000);
  est.roll(t + 2s, 250, 2000);
  est.roll(t + 3s, 450, 3000);
  const std::string j = est.to_json();
  EXPECT_NE(j.find(R"("interval_seconds":1)"), std::string::npos) << j;
  EXPECT_NE(j.find(R"("ready":true)"), std::string::npos) << j;
  EXPECT_NE(j.find(R"("requests":{"per_second":[100,150,200],"predicted":250,"first_derivative":50,"second_derivative":0})"),
            std::string::npos)
      << j;
  EXPECT_NE(j.find(R"("admission":{"max_predicted_rps":500,"refusing":false})"), std::string::npos) << j;
  std::string m;
  est.collect(m);
  EXPECT_NE(m.find("hlscache_load_requests_per_second{window=\"1\"} 200\n"), std::string::npos) << m;
  EXPECT_NE(m.find("hlscache_load_requests_per_second{window=\"3\"} 100\n"), std::string::npos) << m;
  EXPECT_NE(m.find("hlscache_load_requests_per_second_predicted 250\n"), std::string::npos) << m;
  EXPECT_NE(m.find("hlscache_load_requests_per_second_predicted_slope 50\n"), std::string::npos) << m;
  EXPECT_NE(m.find("hlscache_load_bytes_per_second_predicted 1000\n"), std::string::npos) << m;
  EXPECT_NE(m.find("hlscache_load_admission_refusing 0\n"), std::string::npos) << m;
}
