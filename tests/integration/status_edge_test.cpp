// The status page on an edge (status_page_test.cpp covers role local): /status.json's
// hit ratios — since start and over the last interval — from a known sequence of hits
// and misses, and an edge configured with upstream groups (static hosts and a DNS
// name) listing each group's hosts with the health its tier knows after active
// checks: up, down (failing, below the threshold) and ejected.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fmt/format.h>

#include <functional>
#include <thread>

#include "support/daemon.hpp"
#include "support/fake_origin.hpp"
#include "support/http_client.hpp"

namespace hlscache::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

std::string edge_yaml(const std::string& upstream) {
  return "role: edge\nthreads: 2\nlisten:\n  - address: 127.0.0.1:0\nlogging: {level: warn}\n"
         "timeouts: {drain: 2s}\n" + upstream;
}

json::object status_of(std::uint16_t port) {
  auto r = get(port, "/status.json");
  EXPECT_EQ(r.status, 200) << r.describe();
  if (r.status != 200) return {};
  return json::parse(r.body).as_object();
}

// Polls /status.json (every 100 ms) until pred holds or `timeout`; the last one read.
json::object wait_status(std::uint16_t port, const std::function<bool(const json::object&)>& pred, Millis timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  json::object s;
  do {
    s = status_of(port);
    if (!s.empty() && pred(s)) break;
    std::this_thread::sleep_for(100ms);
  } while (std::chrono::steady_clock::now() < end);
  return s;
}

OriginReply cacheable(const std::string& body) {
  OriginReply r;
  r.body = body;
  r.headers = {{"Content-Type", "video/mp2t"}, {"Cache-Control", "max-age=60"}};
  return r;
}

double ratio(const json::object& s, std::string_view key) { return s.at(key).to_number<double>(); }

TEST(StatusEdge, HitRatiosSinceStartAndOverTheLastIntervalFollowTheCacheResults) {
  FakeOrigin origin;
  origin.set("/live/a.ts", cacheable("a"));
  origin.set("/live/b.ts", cacheable("b"));
  auto d = Daemon::start(edge_yaml(fmt::format("upstream: {{hosts: ['127.0.0.1:{}']}}\n", origin.port())));
  ASSERT_TRUE(d.running()) << d.error();
  auto cached = [&](const std::string& path, const char* expect) {
    auto r = get(d.port(), path);
    EXPECT_EQ(r.status, 200) << r.describe();
    EXPECT_EQ(r.header("X-Cache").value_or(""), expect) << path;
  };

  auto s = status_of(d.port());
  EXPECT_TRUE(s.at("hit_ratio").is_null()) << "no lookup yet";

  // 1 MISS + 3 HIT: 3 of 4, since start and over the first interval (which starts at start).
  cached("/live/a.ts", "MISS");
  for (int i = 0; i < 3; ++i) cached("/live/a.ts", "HIT");
  std::this_thread::sleep_for(1100ms);  // a new interval needs 1 s since the last sample
  s = status_of(d.port());
  EXPECT_NEAR(ratio(s, "hit_ratio"), 0.75, 1e-4) << json::serialize(s);
  EXPECT_NEAR(ratio(s, "hit_ratio_recent"), 0.75, 1e-4);

  // 1 MISS + 1 HIT: 1 of 2 in this interval; since start 4 of 6.
  cached("/live/b.ts", "MISS");
  cached("/live/b.ts", "HIT");
  std::this_thread::sleep_for(1100ms);
  s = status_of(d.port());
  EXPECT_NEAR(ratio(s, "hit_ratio"), 4.0 / 6, 1e-4) << json::serialize(s);
  EXPECT_NEAR(ratio(s, "hit_ratio_recent"), 0.5, 1e-4);
  EXPECT_EQ(s.at("cache_lookups_total").to_number<double>(), 6);

  // An interval without lookups (the status requests themselves are none): no recent ratio.
  std::this_thread::sleep_for(1100ms);
  s = status_of(d.port());
  EXPECT_TRUE(s.at("hit_ratio_recent").is_null()) << json::serialize(s);
  EXPECT_NEAR(ratio(s, "hit_ratio"), 4.0 / 6, 1e-4);
  EXPECT_EQ(origin.total_requests(), 2u);

  auto page = get(d.port(), "/");
  ASSERT_EQ(page.status, 200);
  for (const char* id : {"id=\"hit-start\"", "id=\"hit-recent\"", "id=\"hit-window\"", "since start", "id=\"node-chart\""})
    EXPECT_NE(page.body.find(id), std::string::npos) << id;
  EXPECT_TRUE(d.stop().exited);
}

const json::object* host_in(const json::object& s, std::string_view group, std::string_view address) {
  for (const auto& g : s.at("upstream").at("groups").as_array())
    if (g.at("name").as_string() == group)
      for (const auto& h : g.at("hosts").as_array())
        if (h.at("address").as_string() == address) return &h.as_object();
  return nullptr;
}

std::string state_of(const json::object& s, std::string_view group, std::string_view address) {
  const json::object* h = host_in(s, group, address);
  return h ? std::string(h->at("state").as_string()) : std::string("(absent)");
}

std::string groups_yaml(std::uint16_t good, std::uint16_t dead, const std::string& health) {
  return fmt::format("upstream:\n"
                     "  groups:\n"
                     "    o: {{hosts: ['127.0.0.1:{0}', '127.0.0.1:{1}']}}\n"
                     "    k8s: {{dns: 'localhost:{0}'}}\n"
                     "  routes:\n"
                     "    - {{prefix: /live/, group: o}}\n"
                     "    - {{prefix: /k/, group: k8s}}\n"
                     "  health: {{{2}, check_interval: 100ms}}\n",
                     good, dead, health);
}

// One reachable host and one that refuses connections, checked every 100 ms: below the
// failure threshold the dead one is "down", at it "ejected" (for the rest of eject_base);
// the reachable one stays "up". The DNS group shows its name and what it resolved to.
TEST(StatusEdge, UpstreamGroupsListTheirHostsWithTheHealthTheTierKnows) {
  FakeOrigin good;
  good.set("/healthz", OriginReply{});
  std::uint16_t dead = 0;
  {
    SilentListener l;  // bound, then closed: connections are refused
    dead = l.port();
  }
  const std::string good_id = fmt::format("127.0.0.1:{}", good.port());
  const std::string dead_id = fmt::format("127.0.0.1:{}", dead);

  {
    auto d = Daemon::start(edge_yaml(groups_yaml(good.port(), dead, "fail_threshold: 1000")));
    ASSERT_TRUE(d.running()) << d.error();
    auto s = wait_status(d.port(), [&](const json::object& o) {
      const json::object* h = host_in(o, "o", dead_id);
      return h && h->at("check_failures_total").to_number<double>() >= 2;
    }, 5s);
    EXPECT_EQ(state_of(s, "o", good_id), "up") << json::serialize(s);
    EXPECT_EQ(state_of(s, "o", dead_id), "down") << json::serialize(s);
    ASSERT_NE(host_in(s, "o", dead_id), nullptr);
    EXPECT_GE(host_in(s, "o", dead_id)->at("consecutive_failures").to_number<double>(), 2);
    const auto& up = s.at("upstream").as_object();
    const auto& groups = up.at("groups").as_array();
    ASSERT_EQ(groups.size(), 2u);
    EXPECT_EQ(groups[0].at("name").as_string(), "o");
    EXPECT_TRUE(groups[0].at("dns").is_null());
    EXPECT_EQ(groups[0].at("routes").as_array().at(0).as_string(), "/live/");
    EXPECT_EQ(groups[1].at("name").as_string(), "k8s");
    EXPECT_EQ(groups[1].at("dns").as_string(), fmt::format("localhost:{}", good.port()));
    EXPECT_EQ(state_of(s, "k8s", good_id), "up") << "localhost resolves to 127.0.0.1: " << json::serialize(s);
    // upstream.hosts: every member of every group (with groups: the config's flat list is empty).
    bool listed = false;
    for (const auto& h : up.at("hosts").as_array()) listed |= h.as_string() == dead_id;
    EXPECT_TRUE(listed) << json::serialize(up);

    auto page = get(d.port(), "/");
    ASSERT_EQ(page.status, 200);
    EXPECT_NE(page.body.find("id=\"upstream-groups\""), std::string::npos);
    EXPECT_TRUE(d.stop().exited);
  }
  {
    auto d = Daemon::start(edge_yaml(groups_yaml(good.port(), dead, "fail_threshold: 2, eject_base: 60s, eject_max: 60s")));
    ASSERT_TRUE(d.running()) << d.error();
    auto s = wait_status(d.port(), [&](const json::object& o) { return state_of(o, "o", dead_id) == "ejected"; }, 5s);
    EXPECT_EQ(state_of(s, "o", dead_id), "ejected") << json::serialize(s);
    EXPECT_EQ(state_of(s, "o", good_id), "up");
    if (const json::object* h = host_in(s, "o", dead_id)) {
      EXPECT_GT(h->at("ejected_for_s").to_number<double>(), 50);
      EXPECT_LE(h->at("ejected_for_s").to_number<double>(), 60);
      EXPECT_GE(h->at("ejections_total").to_number<double>(), 1);
    }
    EXPECT_TRUE(d.stop().exited);
  }
}

}  // namespace
}  // namespace hlscache::test
