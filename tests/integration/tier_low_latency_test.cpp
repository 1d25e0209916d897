// LL-HLS blocking reloads through the tiers, real processes on loopback:
//   local segmenter (container: cmaf, 1 s target, 330 ms parts) <- origin <- edge
// 200 viewers ask the edge at once for the playlist holding the part the preload hint
// names (_HLS_msn/_HLS_part): every one gets a playlist that holds it, and each tier
// sends exactly one request upstream for it — the edge one to the origin, the origin
// one to the segmenter (counted by each tier's misses). The tiers' wait for the held
// answer follows the stream's target duration, not upstream_first_byte, and no tier
// counts an upstream failure. About 10 s.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <regex>
#include <thread>

#include "edge_test_util.hpp"
#include "local_test_util.hpp"
#include "support/daemon.hpp"
#include "support/http_client.hpp"

namespace hlscache::test {
namespace {

using namespace std::chrono_literals;

double metric_or(std::uint16_t port, std::string_view name, std::string_view labels = {}) {
  return edge_metric(port, name, labels).value_or(-1);
}

std::string upstream_yaml(const char* role, std::uint16_t upstream) {
  return fmt::format(R"(role: {}
threads: 2
listen: [{{address: 127.0.0.1:0}}]
upstream: {{hosts: ['127.0.0.1:{}']}}
timeouts: {{drain: 2s}}
logging: {{level: warn}}
)", role, upstream);
}

// Polls /live/ll/index.m3u8 on `port` until it lists a segment: its preload hint's {msn, part}.
std::pair<std::uint64_t, std::uint64_t> preload_hint(std::uint16_t port) {
  HttpResponse p;
  for (int i = 0; i < 50; ++i) {
    p = get(port, "/live/ll/index.m3u8", {}, 5s);
    if (p.status == 200 && p.body.find("#EXTINF") != std::string::npos) break;
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_EQ(p.status, 200) << p.describe();
  std::smatch m;
  const std::regex hint(R"re(#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part_[0-9a-f]+_([0-9]+)\.([0-9]+)\.m4s")re");
  if (!std::regex_search(p.body, m, hint)) {
    ADD_FAILURE() << "no preload hint:\n" << p.body;
    return {};
  }
  return {std::stoull(m[1]), std::stoull(m[2])};
}

TEST(TierLowLatency, TwoHundredBlockingReloadsForOnePartAreOneRequestPerTier) {
  LOCAL_REQUIRE_FFMPEG();
  const std::string clip = make_clip(4);
  ASSERT_FALSE(clip.empty());
  Daemon local = Daemon::start(fmt::format(R"(role: local
threads: 1
listen: [{{address: 127.0.0.1:0}}]
streams:
  - {{name: ll, target_duration: 1s, window: 12, container: cmaf, part_target: 330ms, source: {{file: '{}', loop: true}}}}
logging: {{level: warn}}
)", clip));
  ASSERT_TRUE(local.running()) << local.error();
  Daemon origin = Daemon::start(upstream_yaml("origin", local.port()));
  ASSERT_TRUE(origin.running()) << origin.error();
  Daemon edge = Daemon::start(upstream_yaml("edge", origin.port()));
  ASSERT_TRUE(edge.running()) << edge.error();

  // The playlist through the edge (which records the stream's target duration).
  const auto hint = preload_hint(edge.port());
  ASSERT_NE(hint.first, 0u) << "no preload hint";
  // Two parts past the hint of a playlist that may be up to half a target duration old:
  // still ahead of the segmenter when the herd asks (within the 400 limit).
  const std::uint64_t msn = hint.first, part = hint.second + 2;
  const std::string target = fmt::format("/live/ll/index.m3u8?_HLS_msn={}&_HLS_part={}", msn, part);
  const std::regex listed(fmt::format(R"re((part_[0-9a-f]+_{}\.{}\.m4s|seg_[0-9a-f]+_{}\.m4s|_{}\.[0-9]+\.m4s))re", msn,
                                      part, msn, msn + 1));

  const double edge_misses = metric_or(edge.port(), "hlscache_cache_misses_total");
  const double origin_misses = metric_or(origin.port(), "hlscache_cache_misses_total");
  const double local_misses = metric_or(local.port(), "hlscache_cache_misses_total");

  constexpr int kViewers = 200;
  std::vector<HttpResponse> rs(kViewers);
  std::vector<std::thread> threads;
  for (int i = 0; i < kViewers; ++i)
    threads.emplace_back([&, i] { rs[i] = get(edge.port(), target, {}, 10s); });
  for (auto& t : threads) t.join();

  int ok = 0;
  for (const auto& r : rs) {
    EXPECT_EQ(r.status, 200) << r.describe();
    if (r.status != 200) continue;
    ++ok;
    EXPECT_TRUE(std::regex_search(r.body, listed)) << "the answer holds part " << msn << "." << part << "\n" << r.body;
  }
  EXPECT_EQ(ok, kViewers);
  // One request per tier for it: the edge's one miss went to the origin, whose one miss went
  // to the segmenter; everyone else joined those fetches.
  EXPECT_EQ(metric_or(edge.port(), "hlscache_cache_misses_total") - edge_misses, 1);
  EXPECT_EQ(metric_or(origin.port(), "hlscache_cache_misses_total") - origin_misses, 1);
  EXPECT_EQ(metric_or(local.port(), "hlscache_cache_misses_total") - local_misses, 1);
  for (auto [port, upstream, tier] : {std::tuple{edge.port(), origin.port(), "edge"},
                                      std::tuple{origin.port(), local.port(), "origin"}}) {
    const std::string host = fmt::format("group=\"default\",host=\"127.0.0.1:{}\"", upstream);
    EXPECT_EQ(metric_or(port, "hlscache_upstream_host_errors_total", host), 0) << tier;
    EXPECT_EQ(metric_or(port, "hlscache_upstream_errors_total"), 0) << tier;
  }
  for (auto* d : {&edge, &origin, &local}) EXPECT_TRUE(d->stop().exited);
}

// A publisher that stalls: the segmenter holds a blocking reload three target durations
// (6 s, longer than the tiers' 5 s upstream_first_byte) and answers 503. The origin and
// the edge wait for it (3.5 target durations, as the playlist they recorded says) and
// pass the 503 on: not a 504 of their own, not a failure of their upstream host.
TEST(TierLowLatency, AStalledPartIsTheSegmentersOwn503AtEveryTierNotAHostFailure) {
  LOCAL_REQUIRE_FFMPEG();
  const std::string clip = make_clip(6);
  ASSERT_FALSE(clip.empty());
  Daemon local = Daemon::start(R"(role: local
threads: 1
listen: [{address: 127.0.0.1:0}]
streams:
  - {name: ll, target_duration: 2s, container: cmaf, part_target: 500ms, source: {ingest: true}}
timeouts: {drain: 2s}
logging: {level: warn}
)");
  ASSERT_TRUE(local.running()) << local.error();
  Daemon origin = Daemon::start(upstream_yaml("origin", local.port()));
  ASSERT_TRUE(origin.running()) << origin.error();
  Daemon edge = Daemon::start(upstream_yaml("edge", origin.port()));
  ASSERT_TRUE(edge.running()) << edge.error();

  const std::string ts = read_file(clip);
  Pusher pusher(local.port(), "/ingest/ll");
  ASSERT_TRUE(pusher.send(std::string_view(ts).substr(0, ts.size() / 2 / 188 * 188)));  // ~3 s, then nothing
  const auto hint = preload_hint(edge.port());
  ASSERT_NE(hint.first, 0u) << "no preload hint";
  std::this_thread::sleep_for(1500ms);  // what was sent is cut by now; nothing more comes
  const auto t0 = std::chrono::steady_clock::now();
  auto r = get(edge.port(), fmt::format("/live/ll/index.m3u8?_HLS_msn={}&_HLS_part={}", hint.first + 1, hint.second),
               {}, 15s);
  const auto waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(r.status, 503) << r.describe();
  EXPECT_GE(waited, 5.5) << "the segmenter holds it three target durations";
  EXPECT_LE(waited, 7.5);
  for (auto [port, upstream, tier] : {std::tuple{edge.port(), origin.port(), "edge"},
                                      std::tuple{origin.port(), local.port(), "origin"}}) {
    const std::string host = fmt::format("group=\"default\",host=\"127.0.0.1:{}\"", upstream);
    EXPECT_EQ(metric_or(port, "hlscache_upstream_host_errors_total", host), 0) << tier;
    EXPECT_EQ(metric_or(port, "hlscache_upstream_host_up", host), 1) << tier;
    EXPECT_EQ(metric_or(port, "hlscache_upstream_held_timeouts_total"), 0) << tier;
  }
  pusher.connection().close();  // the publisher goes; the segmenter need not drain it
  for (auto* d : {&edge, &origin, &local}) EXPECT_TRUE(d->stop().exited);
}

}  // namespace
}  // namespace hlscache::test
