// StatusHandler::status_json (http/status_handler.hpp) with a ManualClock and the
// process counters set by hand: the hit ratio since start and over the last interval
// from a known sequence of cache results, the rates per stream, and the upstream
// groups with their hosts.
#include <gtest/gtest.h>

#include <boost/json/src.hpp>  // header-only Boost.JSON (this binary's only user)

#include "config/config.hpp"
#include "core/clock.hpp"
#include "http/status_handler.hpp"
#include "metrics/metrics.hpp"

namespace hlscache {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

ConfigPtr config(const std::string& yaml) {
  auto r = load_config_string("listen: [{address: '127.0.0.1:0'}]\n" + yaml, "t.yaml");
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : nullptr;
}

json::object status(StatusHandler& h) { return json::parse(h.status_json()).as_object(); }

double number(const json::object& o, std::string_view key) { return o.at(key).to_number<double>(); }

void count(Metrics& m, CacheResult r, int n) {
  for (int i = 0; i < n; ++i) m.count_response(200, r, 100);
}

TEST(StatusJson, HitRatioSinceStartAndOverTheLastIntervalFromTheCacheResults) {
  auto cfg = config("role: edge\nupstream: {hosts: ['127.0.0.1:9000']}\n");
  ASSERT_TRUE(cfg);
  Metrics metrics;
  ManualClock clock;
  StatusHandler h(cfg, metrics, clock);

  auto s = status(h);
  EXPECT_TRUE(s.at("hit_ratio").is_null()) << "no lookup yet: no ratio";
  EXPECT_TRUE(s.at("hit_ratio_recent").is_null());

  // 3 HIT + 1 MISS; answers that were no cache lookup (NONE: health, status, errors) do not count.
  count(metrics, CacheResult::hit, 3);
  count(metrics, CacheResult::miss, 1);
  count(metrics, CacheResult::none, 5);
  clock.advance(2s);
  s = status(h);
  EXPECT_DOUBLE_EQ(number(s, "hit_ratio"), 0.75);
  EXPECT_DOUBLE_EQ(number(s, "hit_ratio_recent"), 0.75);
  EXPECT_DOUBLE_EQ(number(s, "rate_window_s"), 2.0);
  EXPECT_DOUBLE_EQ(number(s, "cache_lookups_total"), 4);
  EXPECT_DOUBLE_EQ(number(s, "requests_per_s"), 4.5);  // 9 answers in 2 s

  // Next interval: 1 STALE, 1 HIT, 1 MISS, 1 COALESCED -> 2 of 4 recent; since start 5 of 8.
  count(metrics, CacheResult::stale, 1);
  count(metrics, CacheResult::hit, 1);
  count(metrics, CacheResult::miss, 1);
  count(metrics, CacheResult::coalesced, 1);
  clock.advance(2s);
  s = status(h);
  EXPECT_DOUBLE_EQ(number(s, "hit_ratio"), 0.625);
  EXPECT_DOUBLE_EQ(number(s, "hit_ratio_recent"), 0.5);

  // Less than 1 s later: the same interval is reported, whatever came since.
  count(metrics, CacheResult::miss, 4);
  clock.advance(500ms);
  s = status(h);
  EXPECT_DOUBLE_EQ(number(s, "hit_ratio_recent"), 0.5);
  EXPECT_NEAR(number(s, "hit_ratio"), 5.0 / 12, 1e-4);  // four decimals

  // An interval with nothing but those 4 misses, then one with no lookup at all.
  clock.advance(1s);
  s = status(h);
  EXPECT_DOUBLE_EQ(number(s, "hit_ratio_recent"), 0.0);
  clock.advance(2s);
  s = status(h);
  EXPECT_TRUE(s.at("hit_ratio_recent").is_null()) << "no lookup in the interval";
  EXPECT_NEAR(number(s, "hit_ratio"), 5.0 / 12, 1e-4);  // four decimals
}

TEST(StatusJson, UpstreamGroupsListTheirHostsAndHealth) {
  auto cfg = config("role: edge\nupstream:\n  groups:\n    o: {hosts: ['127.0.0.1:9000']}\n");
  ASSERT_TRUE(cfg);
  Metrics metrics;
  ManualClock clock;
  StatusHandler h(cfg, metrics, clock);
  h.set_upstream([] {
    UpstreamGroupStatus o{"o", "", {"/live/"}, {}};
    o.hosts.push_back({"127.0.0.1:9000", "up", 0, 0, 10, 0, 0, 3, 0});
    o.hosts.push_back({"127.0.0.1:9001", "ejected", 3, 4.2, 5, 5, 1, 3, 3});
    UpstreamGroupStatus k{"k8s", "origin.svc:8080", {}, {}};
    k.hosts.push_back({"10.0.0.7:8080", "down", 1, 0, 2, 1, 0, 0, 0});
    return std::vector<UpstreamGroupStatus>{o, k};
  });
  const auto s = status(h);
  const auto& up = s.at("upstream").as_object();
  const auto& hosts = up.at("hosts").as_array();
  ASSERT_EQ(hosts.size(), 3u);
  EXPECT_EQ(hosts[2].as_string(), "10.0.0.7:8080");
  const auto& groups = up.at("groups").as_array();
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].at("name").as_string(), "o");
  EXPECT_TRUE(groups[0].at("dns").is_null());
  EXPECT_EQ(groups[0].at("routes").as_array()[0].as_string(), "/live/");
  const auto& ejected = groups[0].at("hosts").as_array()[1].as_object();
  EXPECT_EQ(ejected.at("address").as_string(), "127.0.0.1:9001");
  EXPECT_EQ(ejected.at("state").as_string(), "ejected");
  EXPECT_DOUBLE_EQ(number(ejected, "ejected_for_s"), 4.2);
  EXPECT_DOUBLE_EQ(number(ejected, "consecutive_failures"), 3);
  EXPECT_DOUBLE_EQ(number(ejected, "errors_total"), 5);
  EXPECT_DOUBLE_EQ(number(ejected, "check_failures_total"), 3);
  EXPECT_EQ(groups[1].at("dns").as_string(), "origin.svc:8080");
  EXPECT_TRUE(groups[1].at("routes").as_array().empty());
  EXPECT_EQ(groups[1].at("hosts").as_array()[0].at("state").as_string(), "down");
}

TEST(StatusJson, StreamsCarryTheirStateAgeViewersAndRates) {
  auto cfg = config("role: local\nstreams:\n  - {name: show, source: {ingest: true}}\n");
  ASSERT_TRUE(cfg);
  Metrics metrics;
  ManualClock clock;
  StatusHandler h(cfg, metrics, clock);
  std::uint64_t requests = 0, origin = 0;
  h.set_streams([&] {
    StatusStream st;
    st.name = "show";
    st.url = "/live/show/index.m3u8";
    st.state = "paused";
    st.last_segment_age_s = 3.25;
    st.viewers = 7;
    st.requests = requests;
    st.origin_requests = origin;
    st.renditions.push_back({"main", st.url, true, "paused", 3.25});
    return std::vector<StatusStream>{st};
  });
  requests = 40;
  origin = 4;
  clock.advance(2s);
  auto s = status(h);
  EXPECT_TRUE(s.at("upstream").is_null());
  const auto& st = s.at("streams").as_array().at(0).as_object();
  EXPECT_EQ(st.at("state").as_string(), "paused");
  EXPECT_DOUBLE_EQ(number(st, "last_segment_age_s"), 3.2);  // one decimal
  EXPECT_DOUBLE_EQ(number(st, "viewers"), 7);
  EXPECT_DOUBLE_EQ(number(st, "requests_total"), 40);
  EXPECT_DOUBLE_EQ(number(st, "requests_per_s"), 20);
  EXPECT_DOUBLE_EQ(number(st, "origin_requests_per_s"), 2);
  const auto& r = st.at("renditions").as_array().at(0).as_object();
  EXPECT_EQ(r.at("state").as_string(), "paused");
  EXPECT_TRUE(r.at("publishing").as_bool());

  requests = 50;
  clock.advance(2s);
  s = status(h);
  EXPECT_DOUBLE_EQ(number(s.at("streams").as_array().at(0).as_object(), "requests_per_s"), 5);
  EXPECT_DOUBLE_EQ(number(s.at("streams").as_array().at(0).as_object(), "origin_requests_per_s"), 0);
}

}  // namespace
}  // namespace hlscache
