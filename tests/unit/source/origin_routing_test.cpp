#include <gtest/gtest.h>

#include <map>

#include "config/config.hpp"
#include "source/origin_tier.hpp"

using namespace hlscache;

namespace {

ConfigPtr config(const std::string& upstream_yaml) {
  auto r = load_config_string("role: edge\nlisten: [{address: '127.0.0.1:0'}]\n" + upstream_yaml, "t.yaml");
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : nullptr;
}

}  // namespace

TEST(OriginRouting, StreamKeyIsTheFirstComponentAfterThePrefix) {
  EXPECT_EQ(OriginTier::stream_key("/live/demo/720p/seg_1.ts", "/live/"), "/live/demo");
  EXPECT_EQ(OriginTier::stream_key("/live/demo/index.m3u8", "/live/"), "/live/demo");
  EXPECT_EQ(OriginTier::stream_key("/live/demo", "/live/"), "/live/demo");
  EXPECT_EQ(OriginTier::stream_key("/demo/a/b.ts", "/"), "/demo");
  EXPECT_EQ(OriginTier::stream_key("/live/x/seg.ts", "/live"), "/live/x");
}

TEST(OriginRouting, LongestPrefixWinsAndUnroutedPathsHaveNoGroup) {
  auto cfg = config(R"(upstream:
  groups:
    origin: {hosts: [127.0.0.1:9101, 127.0.0.1:9102]}
    special: {hosts: [127.0.0.1:9201]}
  routes:
    - {prefix: /live/, group: origin}
    - {prefix: /live/special/, group: special}
)");
  ASSERT_TRUE(cfg);
  Metrics metrics;
  OriginTier tier(cfg, metrics);
  EXPECT_EQ(tier.route("/live/a/seg_1.ts", "/live/a/seg_1.ts").group, "origin");
  EXPECT_EQ(tier.route("/live/special/seg_1.ts", "/live/special/seg_1.ts").group, "special");
  auto none = tier.route("/vod/a.ts", "/vod/a.ts");
  EXPECT_TRUE(none.group.empty());
  EXPECT_TRUE(none.hosts.empty());
  EXPECT_EQ(tier.route("/live/a/seg_1.ts", "/live/a/seg_1.ts").hosts.size(), 2u);
}

TEST(OriginRouting, SegmentHashSpreadsSegmentsStreamHashKeepsAStreamTogether) {
  auto cfg = config(R"(upstream:
  groups:
    seg: {hosts: [127.0.0.1:9101, 127.0.0.1:9102, 127.0.0.1:9103], hash: segment}
    str: {hosts: [127.0.0.1:9201, 127.0.0.1:9202, 127.0.0.1:9203], hash: stream}
  routes:
    - {prefix: /a/, group: seg}
    - {prefix: /b/, group: str}
)");
  ASSERT_TRUE(cfg);
  Metrics metrics;
  OriginTier tier(cfg, metrics);
  std::map<std::uint16_t, int> seg_owners;
  std::map<std::string, std::uint16_t> stream_owner;
  for (int i = 0; i < 300; ++i) {
    const std::string a = "/a/s" + std::to_string(i % 5) + "/seg_" + std::to_string(i) + ".ts";
    ++seg_owners[tier.route(a, a).hosts.front().port];
    const std::string stream = "s" + std::to_string(i % 5);
    const std::string b = "/b/" + stream + "/720p/seg_" + std::to_string(i) + ".ts?token=" + std::to_string(i);
    const auto owner = tier.route(b, b).hosts.front().port;
    auto [it, fresh] = stream_owner.emplace(stream, owner);
    EXPECT_EQ(it->second, owner) << "segment " << i << " of stream " << stream << " left its stream's host";
    (void)fresh;
  }
  EXPECT_EQ(seg_owners.size(), 3u);  // segments of the same stream spread over every host
}

TEST(OriginRouting, HostsShorthandIsOneGroupAtRoot) {
  auto cfg = config("upstream: {hosts: ['127.0.0.1:9000']}\n");
  ASSERT_TRUE(cfg);
  Metrics metrics;
  OriginTier tier(cfg, metrics);
  auto c = tier.route("/anything/at/all.ts", "/anything/at/all.ts");
  EXPECT_EQ(c.group, "default");
  ASSERT_EQ(c.hosts.size(), 1u);
  EXPECT_EQ(c.hosts[0].port, 9000);
}

TEST(OriginRouting, DnsMembersAreEveryResolvedAddress) {
  auto cfg = config("upstream:\n  groups:\n    o: {dns: 'localhost:9300'}\n");
  ASSERT_TRUE(cfg);
  Metrics metrics;
  OriginTier tier(cfg, metrics);
  auto c = tier.route("/x.ts", "/x.ts");
  ASSERT_FALSE(c.hosts.empty()) << "localhost did not resolve";
  for (const auto& h : c.hosts) {
    EXPECT_EQ(h.port, 9300);
    EXPECT_TRUE(h.host == "127.0.0.1" || h.host == "::1") << h.host;
  }
}

TEST(OriginRouting, ReconfigureSwapsGroups) {
  auto cfg = config("upstream: {hosts: ['127.0.0.1:9000']}\n");
  Metrics metrics;
  OriginTier tier(cfg, metrics);
  tier.reconfigure(config("upstream:\n  groups:\n    o: {hosts: ['127.0.0.1:9100']}\n  routes: [{prefix: /live/, group: o}]\n"));
  EXPECT_TRUE(tier.route("/x.ts", "/x.ts").group.empty());
  auto c = tier.route("/live/x.ts", "/live/x.ts");
  EXPECT_EQ(c.group, "o");
  ASSERT_EQ(c.hosts.size(), 1u);
  EXPECT_EQ(c.hosts[0].port, 9100);
}

// DNS membership: a lookup that returns a different set rebuilds the ring (only the keys
// of the hosts that came or went move), the same set changes nothing, and the failover
// order a fetch already took stays valid (it holds its own snapshot).
TEST(OriginRouting, DnsMembershipChangeRebuildsTheRingAndMovesOnlyTheLeaversKeys) {
  auto cfg = config("upstream:\n  groups:\n    o: {dns: 'localhost:9300'}\n");
  ASSERT_TRUE(cfg);
  Metrics metrics;
  OriginTier tier(cfg, metrics);
  const std::vector<HostPort> three{{"10.1.0.1", 8080}, {"10.1.0.2", 8080}, {"10.1.0.3", 8080}};
  ASSERT_TRUE(tier.apply_resolved("o", three));
  EXPECT_FALSE(tier.apply_resolved("o", three)) << "the same members must not rebuild the ring";
  std::map<std::string, std::string> before;
  for (int i = 0; i < 3000; ++i) {
    const std::string k = "/live/s/seg_" + std::to_string(i) + ".ts";
    auto c = tier.route(k, k);
    ASSERT_EQ(c.hosts.size(), 3u);
    before[k] = c.hosts.front().to_string();
  }
  ASSERT_TRUE(tier.apply_resolved("o", {three[0], three[2]}));  // 10.1.0.2 left
  int moved = 0;
  for (const auto& [k, owner] : before) {
    auto c = tier.route(k, k);
    ASSERT_EQ(c.hosts.size(), 2u);
    if (c.hosts.front().to_string() != owner) {
      ++moved;
      EXPECT_EQ(owner, "10.1.0.2:8080") << k << " moved although its host stayed";
    }
  }
  EXPECT_GT(moved, 600);
  EXPECT_LT(moved, 1400);
}

// The status page's view: every group with its routes, its DNS name and its members,
// each "up" before anything failed; a DNS membership change shows at once.
TEST(OriginRouting, StatusListsGroupsRoutesAndHostsWithTheirHealth) {
  auto cfg = config(R"(upstream:
  groups:
    origin: {hosts: [127.0.0.1:9101, {address: 127.0.0.1:9102, weight: 2}]}
    k8s: {dns: 'localhost:9300'}
    spare: {hosts: [127.0.0.1:9401]}
  routes:
    - {prefix: /live/, group: origin}
    - {prefix: /vod/, group: origin}
    - {prefix: /k/, group: k8s}
)");
  ASSERT_TRUE(cfg);
  Metrics metrics;
  OriginTier tier(cfg, metrics);
  auto st = tier.status(SteadyClock::now());
  ASSERT_EQ(st.size(), 3u);
  std::map<std::string, UpstreamGroupStatus> by_name;
  for (auto& g : st) by_name[g.name] = g;
  const auto& origin = by_name.at("origin");
  EXPECT_TRUE(origin.dns.empty());
  EXPECT_EQ(origin.prefixes, (std::vector<std::string>{"/live/", "/vod/"}));
  ASSERT_EQ(origin.hosts.size(), 2u);
  EXPECT_EQ(origin.hosts[0].address, "127.0.0.1:9101");
  EXPECT_EQ(origin.hosts[1].address, "127.0.0.1:9102");
  for (const auto& h : origin.hosts) {
    EXPECT_EQ(h.state, "up");
    EXPECT_EQ(h.consecutive_failures, 0u);
    EXPECT_EQ(h.ejected_for_s, 0);
  }
  EXPECT_EQ(by_name.at("k8s").dns, "localhost:9300");
  EXPECT_EQ(by_name.at("k8s").prefixes, (std::vector<std::string>{"/k/"}));
  EXPECT_TRUE(by_name.at("spare").prefixes.empty());

  ASSERT_TRUE(tier.apply_resolved("k8s", {{"10.1.0.1", 8080}, {"10.1.0.2", 8080}}));
  for (const auto& g : tier.status(SteadyClock::now()))
    if (g.name == "k8s") {
      ASSERT_EQ(g.hosts.size(), 2u);
      EXPECT_EQ(g.hosts[0].address, "10.1.0.1:8080");
      EXPECT_EQ(g.hosts[1].address, "10.1.0.2:8080");
    }
}
