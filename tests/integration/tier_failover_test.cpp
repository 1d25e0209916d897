// Upstream groups end to end (issue: tiers): the real daemon in role edge in front of
// several FakeOrigins on one consistent-hash ring — routes (404 without going
// upstream), failover to the next host on connect refused / 5xx / a silent host /
// garbage, passive ejection in /metrics, coalesced followers kept across a failover,
// and active health checks that eject a host and give its keys back when it recovers.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <atomic>
#include <set>
#include <thread>

#include "edge_test_util.hpp"
#include "source/hash_ring.hpp"
#include "support/daemon.hpp"
#include "support/fake_origin.hpp"
#include "support/http_client.hpp"

namespace hlscache::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string host_id(std::uint16_t port) { return fmt::format("127.0.0.1:{}", port); }

std::string tier_yaml(const std::string& upstream, const std::string& timeouts = "") {
  return "role: edge\nthreads: 2\nserver_name: tier-it\nlisten:\n  - address: 127.0.0.1:0\n"
         "logging: {level: warn}\n"
         "timeouts: {drain: 2s" + (timeouts.empty() ? std::string() : ", " + timeouts) + "}\n" + upstream;
}

std::string group_yaml(const std::vector<std::uint16_t>& ports, const std::string& extra = "") {
  std::string hosts;
  for (auto p : ports) hosts += (hosts.empty() ? "" : ", ") + fmt::format("'{}'", host_id(p));
  return "upstream:\n  groups:\n    o: {hosts: [" + hosts + "], hash: segment}\n"
         "  routes:\n    - {prefix: /live/, group: o}\n" + extra;
}

// A segment path that the ring over `ports` gives to `owner` (first in its walk).
std::string segment_owned_by(const std::vector<std::uint16_t>& ports, std::uint16_t owner, int from = 0) {
  std::vector<HashRing::Member> members;
  for (auto p : ports) members.push_back({host_id(p), 1});
  HashRing ring(members);
  for (int i = from;; ++i) {
    std::string path = fmt::format("/live/s/seg_{}.ts", i);
    if (ring.member(ring.owner(HashRing::hash_key(path))).id == host_id(owner)) return path;
  }
}

std::string host_labels(std::uint16_t port) { return fmt::format("group=\"o\",host=\"{}\"", host_id(port)); }

double metric_or(std::uint16_t port, std::string_view name, std::string_view labels, double fallback = -1) {
  return edge_metric(port, name, labels).value_or(fallback);
}

OriginReply segment_reply(const std::string& body) {
  OriginReply r;
  r.body = body;
  r.headers = {{"Content-Type", "video/mp2t"}};
  return r;
}

// A port nothing listens on (bound, then closed: connections are refused).
std::uint16_t dead_port() {
  SilentListener l;
  return l.port();
}

TEST(TierFailover, PathOutsideEveryRouteIs404WithoutGoingUpstream) {
  FakeOrigin a;
  a.set("/vod/x.ts", segment_reply("x"));
  auto d = Daemon::start(tier_yaml(group_yaml({a.port()})));
  ASSERT_TRUE(d.running()) << d.error();
  auto r = get(d.port(), "/vod/x.ts");
  EXPECT_EQ(r.status, 404) << r.received;
  EXPECT_EQ(a.total_requests(), 0u);
  EXPECT_EQ(metric_or(d.port(), "hlscache_upstream_no_route_total", ""), 1);
  EXPECT_TRUE(d.stop().exited);
}

TEST(TierFailover, ConnectRefusedMovesToTheNextHostAndEjectsTheDeadOne) {
  FakeOrigin good;
  good.set_handler([](const OriginRequest& req) -> std::optional<OriginReply> { return segment_reply("ok " + req.path()); });
  const std::uint16_t dead = dead_port();
  const std::vector<std::uint16_t> ports{dead, good.port()};
  auto d = Daemon::start(tier_yaml(group_yaml(ports, "  retries: 1\n  health: {fail_threshold: 2, eject_base: 30s}\n")));
  ASSERT_TRUE(d.running()) << d.error();
  // Six segments the dead host owns: the first two fail over and eject it, the rest go
  // straight to the survivor.
  int from = 0;
  for (int i = 0; i < 6; ++i) {
    const std::string path = segment_owned_by(ports, dead, from);
    from = std::stoi(path.substr(path.rfind('_') + 1)) + 1;
    auto r = get(d.port(), path);
    ASSERT_EQ(r.status, 200) << path << "\n" << r.received;
    EXPECT_EQ(r.body, "ok " + path);
  }
  EXPECT_EQ(metric_or(d.port(), "hlscache_upstream_host_requests_total", host_labels(dead)), 2);
  EXPECT_EQ(metric_or(d.port(), "hlscache_upstream_host_errors_total", host_labels(dead)), 2);
  EXPECT_EQ(metric_or(d.port(), "hlscache_upstream_host_ejections_total", host_labels(dead)), 1);
  EXPECT_EQ(metric_or(d.port(), "hlscache_upstream_host_up", host_labels(dead)), 0);
  EXPECT_EQ(metric_or(d.port(), "hlscache_upstream_host_up", host_labels(good.port())), 1);
  EXPECT_EQ(metric_or(d.port(), "hlscache_upstream_retries_total", ""), 2);
  EXPECT_EQ(good.total_requests(), 6u);
  EXPECT_TRUE(d.stop().exited);
}

TEST(TierFailover, FiveHundredRetriesElsewhereAndIsPassedOnWhenNoHostIsLeft) {
  FakeOrigin bad, good;
  bad.set_handler([](const OriginRequest&) -> std::optional<OriginReply> {
    OriginReply r;
    r.status = 503;
    r.body = "busy";
    return r;
  });
  good.set_handler([](const OriginRequest& req) -> std::optional<OriginReply> { return segment_reply("ok " + req.path()); });
  const std::vector<std::uint16_t> ports{bad.port(), good.port()};
  const std::string path = segment_owned_by(ports, bad.port());
  {
    auto d = Daemon::start(tier_yaml(group_yaml(ports, "  retries: 1\n  health: {fail_threshold: 100}\n")));
    ASSERT_TRUE(d.running()) << d.error();
    auto r = get(d.port(), path);
    EXPECT_EQ(r.status, 200) << r.received;
    EXPECT_EQ(r.body, "ok " + path);
    EXPECT_EQ(bad.requests(path), 1u);
    EXPECT_EQ(good.requests(path), 1u);
    EXPECT_TRUE(d.stop().exited);
  }
  {
    // No retry budget: the 503 reaches the client as it is, and is not cached.
    auto d = Daemon::start(tier_yaml(group_yaml(ports, "  retries: 0\n  health: {fail_threshold: 100}\n")));
    ASSERT_TRUE(d.running()) << d.error();
    EXPECT_EQ(get(d.port(), path).status, 503);
    EXPECT_EQ(get(d.port(), path).status, 503);
    EXPECT_EQ(bad.requests(path), 3u);
    EXPECT_EQ(good.requests(path), 1u);
    EXPECT_TRUE(d.stop().exited);
  }
}

TEST(TierFailover, SilentAndGarbageUpstreamsFailWithinTheirTimeouts) {
  SilentListener silent;
  FakeOrigin garbage;
  OriginReply raw;
  raw.raw = "this is not HTTP at all\r\n\r\n";
  garbage.set("/live/s/seg_1.ts", raw);
  {
    auto d = Daemon::start(tier_yaml(group_yaml({silent.port()}, "  retries: 0\n"), "upstream_first_byte: 400ms"));
    ASSERT_TRUE(d.running()) << d.error();
    const auto t0 = Clock::now();
    auto r = get(d.port(), "/live/s/seg_1.ts", {}, 5s);
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    EXPECT_EQ(r.status, 504) << r.received;
    EXPECT_GE(ms, 350);
    EXPECT_LT(ms, 1500);
    EXPECT_TRUE(d.stop().exited);
  }
  {
    auto d = Daemon::start(tier_yaml(group_yaml({garbage.port()}, "  retries: 0\n"), "upstream_first_byte: 400ms"));
    ASSERT_TRUE(d.running()) << d.error();
    const auto t0 = Clock::now();
    auto r = get(d.port(), "/live/s/seg_1.ts", {}, 5s);
    EXPECT_EQ(r.status, 502) << r.received;
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    EXPECT_LT(ms, 400);
    EXPECT_TRUE(d.stop().exited);
  }
}

TEST(TierFailover, SilentHostFailsOverAfterTheFirstByteTimeout) {
  SilentListener silent;
  FakeOrigin good;
  good.set_handler([](const OriginRequest& req) -> std::optional<OriginReply> { return segment_reply("ok " + req.path()); });
  const std::vector<std::uint16_t> ports{silent.port(), good.port()};
  const std::string path = segment_owned_by(ports, silent.port());
  auto d = Daemon::start(tier_yaml(group_yaml(ports, "  retries: 1\n"), "upstream_first_byte: 300ms"));
  ASSERT_TRUE(d.running()) << d.error();
  const auto t0 = Clock::now();
  auto r = get(d.port(), path, {}, 5s);
  const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  EXPECT_EQ(r.status, 200) << r.received;
  EXPECT_GE(ms, 250);
  EXPECT_LT(ms, 1500);
  EXPECT_EQ(good.requests(path), 1u);
  EXPECT_TRUE(d.stop().exited);
}

// The herd's leader goes to the owner, which holds every request and then answers 503;
// the fetch moves to the next host, and all 100 clients get that host's bytes: one
// request on each host, none failed, the followers never restarted their own fetch.
TEST(TierFailover, CoalescedFollowersStayAttachedAcrossAFailover) {
  FakeOrigin owner, next;
  const std::string body = pattern_body(300 * 1024, 7);
  owner.set_handler([](const OriginRequest&) -> std::optional<OriginReply> {
    OriginReply r;
    r.status = 503;
    r.hold = "h";
    return r;
  });
  next.set_handler([&body](const OriginRequest&) -> std::optional<OriginReply> { return segment_reply(body); });
  const std::vector<std::uint16_t> ports{owner.port(), next.port()};
  const std::string path = segment_owned_by(ports, owner.port());
  auto d = Daemon::start(tier_yaml(group_yaml(ports, "  retries: 1\n")));
  ASSERT_TRUE(d.running()) << d.error();

  std::vector<std::string> reqs(100, make_request("GET", path));
  ClientHerd herd(d.port(), reqs);
  ASSERT_TRUE(herd.connect_all());
  herd.start();
  ASSERT_TRUE(owner.wait_for_held("h", 1, 5s));
  ASSERT_TRUE(wait_metric(d.port(), "hlscache_coalesce_followers_total", "", [](double v) { return v >= 99; }, 5s));
  owner.release("h");
  ASSERT_TRUE(herd.wait_finished(10s));
  auto results = herd.results();
  const std::uint32_t want = crc32_of(body);
  for (const auto& r : results) {
    EXPECT_EQ(r.status, 200) << r.describe();
    EXPECT_EQ(r.body_bytes, body.size());
    EXPECT_EQ(r.crc, want);
  }
  EXPECT_EQ(owner.requests(path), 1u);
  EXPECT_EQ(next.requests(path), 1u);
  EXPECT_TRUE(d.stop().exited);
}

// Active health: a host whose /healthz fails is ejected without a viewer request
// failing on it, its keys go to the next host, and it takes them back once healthy.
TEST(TierFailover, ActiveHealthEjectsAHostAndItTakesItsKeysBackWhenHealthy) {
  std::atomic<bool> down{false};
  FakeOrigin flaky, steady;
  flaky.set_handler([&down](const OriginRequest& req) -> std::optional<OriginReply> {
    if (down.load()) {
      OriginReply r;
      r.status = 503;
      return r;
    }
    if (req.path() == "/healthz") return OriginReply{};
    return segment_reply("flaky " + req.path());
  });
  steady.set_handler([](const OriginRequest& req) -> std::optional<OriginReply> {
    if (req.path() == "/healthz") return OriginReply{};
    return segment_reply("steady " + req.path());
  });
  const std::vector<std::uint16_t> ports{flaky.port(), steady.port()};
  auto d = Daemon::start(tier_yaml(group_yaml(ports, "  retries: 1\n  health: {fail_threshold: 2, eject_base: 300ms, "
                                                     "eject_max: 300ms, check_interval: 100ms}\n"),
                                   "upstream_first_byte: 1s"));
  ASSERT_TRUE(d.running()) << d.error();
  const std::string p1 = segment_owned_by(ports, flaky.port(), 0);
  EXPECT_EQ(get(d.port(), p1).body, "flaky " + p1);

  down = true;
  ASSERT_TRUE(wait_metric(d.port(), "hlscache_upstream_host_up", host_labels(flaky.port()),
                          [](double v) { return v == 0; }, 5s));
  EXPECT_GE(metric_or(d.port(), "hlscache_upstream_host_health_check_failures_total", host_labels(flaky.port())), 2);
  const std::size_t flaky_media_before = flaky.total_requests();
  const std::string p2 = segment_owned_by(ports, flaky.port(), std::stoi(p1.substr(p1.rfind('_') + 1)) + 1);
  auto r2 = get(d.port(), p2);
  EXPECT_EQ(r2.status, 200);
  EXPECT_EQ(r2.body, "steady " + p2);
  // Only health checks reached the ejected host, not the viewer's request.
  for (const auto& req : flaky.log())
    if (req.path() == p2) ADD_FAILURE() << "the ejected host got " << p2;
  (void)flaky_media_before;

  down = false;
  ASSERT_TRUE(wait_metric(d.port(), "hlscache_upstream_host_up", host_labels(flaky.port()),
                          [](double v) { return v == 1; }, 5s));
  const std::string p3 = segment_owned_by(ports, flaky.port(), std::stoi(p2.substr(p2.rfind('_') + 1)) + 1);
  EXPECT_EQ(get(d.port(), p3).body, "flaky " + p3);
  EXPECT_TRUE(d.stop().exited);
}

}  // namespace
}  // namespace hlscache::test
