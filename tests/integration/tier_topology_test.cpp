// The multi-tier topology end to end (issue: tiers), real processes on loopback:
//   local segmenter <- origin-1, origin-2 (ringed by segment) <- edge-1, edge-2 <- 200 viewers
// Viewers poll the live playlist and fetch each new segment through both edges.
// Checked from the access logs: the segmenter sees each segment once and the playlist
// about once per refresh interval, each origin only the segments the ring gives it.
// Then origin-1 is SIGKILLed while viewers watch (no viewer request fails, the edges
// eject it and say so in /metrics), restarted on its port, and takes its keys back.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <thread>

#include "edge_test_util.hpp"
#include "local_test_util.hpp"
#include "source/hash_ring.hpp"
#include "support/daemon.hpp"
#include "support/http_client.hpp"

namespace hlscache::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr int kViewersPerEdge = 100;
const std::string kPlaylist = "/live/t/index.m3u8";

// Request paths in an access log ("... \"GET /path HTTP/1.1\" ..."), in order.
std::vector<std::string> logged_paths(const std::string& file) {
  std::ifstream in(file);
  std::vector<std::string> out;
  static const std::regex re("\"GET ([^ ?\"]+)[^\"]* HTTP/1\\.1\"");
  std::string line;
  std::smatch m;
  while (std::getline(in, line))
    if (std::regex_search(line, m, re)) out.push_back(m[1]);
  return out;
}

struct Round {
  std::size_t requests = 0, failures = 0;
  std::vector<std::string> new_segments;
  std::string failure_sample;
};

class TierTopology : public ::testing::Test {
 protected:
  void SetUp() override {
    LOCAL_REQUIRE_FFMPEG();
    dir_ = fs::temp_directory_path() / fmt::format("hlscache-topo-{}", ::getpid());
    fs::create_directories(dir_);
    clip_ = make_clip(4);
    ASSERT_FALSE(clip_.empty());
    local_ = Daemon::start(fmt::format(R"(role: local
threads: 1
listen: [{{address: 127.0.0.1:0}}]
streams:
  - {{name: t, target_duration: 1s, window: 6, source: {{file: '{}', loop: true}}}}
logging: {{level: warn, access_log: true, access_log_path: '{}'}}
)", clip_, (dir_ / "local.log").string()));
    ASSERT_TRUE(local_.running()) << local_.error();
    for (int i = 0; i < 2; ++i) {
      start_origin(i, 0);
      ASSERT_TRUE(origin_[i].running()) << origin_[i].error();
      origin_port_[i] = origin_[i].port();
    }
    for (int i = 0; i < 2; ++i) {
      edge_[i] = Daemon::start(fmt::format(R"(role: edge
threads: 2
listen: [{{address: 127.0.0.1:0}}]
upstream:
  groups:
    origin: {{hosts: ['127.0.0.1:{}', '127.0.0.1:{}'], hash: segment}}
  routes: [{{prefix: /live/, group: origin}}]
  retries: 1
  health: {{fail_threshold: 1, eject_base: 1s, eject_max: 1s, check_interval: 200ms}}
timeouts: {{upstream_connect: 500ms, upstream_first_byte: 3s, drain: 2s}}
logging: {{level: warn}}
)", origin_port_[0], origin_port_[1]));
      ASSERT_TRUE(edge_[i].running()) << edge_[i].error();
    }
    ring_ = std::make_unique<HashRing>(std::vector<HashRing::Member>{
        {fmt::format("127.0.0.1:{}", origin_port_[0]), 1}, {fmt::format("127.0.0.1:{}", origin_port_[1]), 1}});
  }

  void TearDown() override {
    for (auto* d : {&edge_[0], &edge_[1], &origin_[0], &origin_[1], &local_})
      if (d->running()) d->stop();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void start_origin(int i, std::uint16_t port) {
    log_generation_[i]++;
    origin_[i] = Daemon::start(fmt::format(R"(role: origin
threads: 1
listen: [{{address: '127.0.0.1:{}'}}]
upstream: {{hosts: ['127.0.0.1:{}']}}
timeouts: {{drain: 2s}}
logging: {{level: warn, access_log: true, access_log_path: '{}'}}
)", port, local_.port(), origin_log(i)));
  }
  std::string origin_log(int i) const { return (dir_ / fmt::format("origin-{}-{}.log", i, log_generation_[i])).string(); }

  int owner_of(const std::string& path) const {
    const auto& id = ring_->member(ring_->owner(HashRing::hash_key(path))).id;
    return id == fmt::format("127.0.0.1:{}", origin_port_[0]) ? 0 : 1;
  }

  // Every viewer (100 per edge) fetches the playlist; then every viewer fetches each
  // segment that appeared since the last round. Failures are counted, not asserted.
  Round round() {
    Round r;
    auto herd_get = [&](const std::string& target, std::vector<HerdResult>* keep) {
      std::vector<std::unique_ptr<ClientHerd>> herds;
      for (int e = 0; e < 2; ++e) {
        herds.push_back(std::make_unique<ClientHerd>(
            edge_[e].port(), std::vector<std::string>(kViewersPerEdge, make_request("GET", target)),
            ClientHerd::Options{5s, 10s, target.ends_with(".m3u8") ? 4096u : 0u}));
        herds.back()->connect_all();
        herds.back()->start();
      }
      std::uint32_t crc = 0;
      bool first = true;
      for (auto& h : herds) {
        h->wait_finished(10s);
        for (auto& res : h->results()) {
          ++r.requests;
          // Every viewer gets the same bytes of a segment (playlists may differ by a
          // version between the two edges).
          const bool same = first || res.crc == crc || target.ends_with(".m3u8");
          const bool ok = res.outcome == Outcome::response && res.status == 200 && same;
          if (first && ok) crc = res.crc, first = false;
          if (!ok) {
            ++r.failures;
            if (r.failure_sample.empty()) r.failure_sample = target + ": " + res.describe();
          }
          if (keep && ok && keep->empty()) keep->push_back(res);
        }
      }
    };
    std::vector<HerdResult> playlist;
    herd_get(kPlaylist, &playlist);
    if (playlist.empty()) return r;
    auto pl = parse_media_playlist(playlist.front().body);
    for (const auto& e : pl.entries) {
      const std::string path = "/live/t/" + e.uri;
      if (seen_.insert(path).second && primed_) r.new_segments.push_back(path);
    }
    primed_ = true;  // the first round only learns what was already there
    for (const auto& path : r.new_segments) herd_get(path, nullptr);
    return r;
  }

  // Runs rounds for `seconds`, one per target duration; returns the segments fetched.
  std::vector<std::string> watch(int rounds, const std::string& phase) {
    std::vector<std::string> fetched;
    for (int i = 0; i < rounds; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      Round r = round();
      EXPECT_EQ(r.failures, 0u) << phase << " round " << i << ": " << r.failure_sample;
      fetched.insert(fetched.end(), r.new_segments.begin(), r.new_segments.end());
      std::this_thread::sleep_until(t0 + 1s);
    }
    return fetched;
  }

  fs::path dir_;
  std::string clip_;
  Daemon local_, origin_[2], edge_[2];
  std::uint16_t origin_port_[2]{};
  int log_generation_[2]{};
  std::unique_ptr<HashRing> ring_;
  std::set<std::string> seen_;
  bool primed_ = false;
};

TEST_F(TierTopology, OneRequestPerSegmentEachOriginItsOwnAndSurvivesAnOriginKill) {
  const auto started = std::chrono::steady_clock::now();
  // --- all up -----------------------------------------------------------------
  auto phase1 = watch(6, "all up");
  ASSERT_GE(phase1.size(), 3u) << "the live window did not move: " << seen_.size() << " segments seen";
  for (const auto& seg : phase1) EXPECT_EQ(std::count(phase1.begin(), phase1.end(), seg), 1);

  auto local_paths = logged_paths((dir_ / "local.log").string());
  std::map<std::string, int> at_local;
  for (const auto& p : local_paths) ++at_local[p];
  for (const auto& seg : phase1) EXPECT_EQ(at_local[seg], 1) << seg << " reached the segmenter " << at_local[seg] << " times";
  for (const auto& [p, n] : at_local)
    if (p.ends_with(".ts")) {
      EXPECT_EQ(n, 1) << p;
    }
  // Playlist: the origins cache it for half the 1 s target duration, so the segmenter
  // sees it about twice a second at most, whatever the number of viewers.
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_LE(at_local[kPlaylist], elapsed / 0.5 + 3) << "over " << elapsed << " s";
  EXPECT_GE(at_local[kPlaylist], 1);

  for (int i = 0; i < 2; ++i)
    for (const auto& p : logged_paths(origin_log(i)))
      if (p.ends_with(".ts")) {
        EXPECT_EQ(owner_of(p), i) << "origin-" << i + 1 << " served " << p << " it does not own";
      }

  // --- origin-1 killed while viewers watch ------------------------------------
  const std::uint16_t dead_port = origin_port_[0];
  ASSERT_TRUE(origin_[0].stop(SIGKILL).signaled);
  auto phase2 = watch(4, "origin-1 dead");
  ASSERT_GE(phase2.size(), 2u);
  const std::string dead_labels = fmt::format("group=\"origin\",host=\"127.0.0.1:{}\"", dead_port);
  for (int e = 0; e < 2; ++e) {
    EXPECT_GE(edge_metric(edge_[e].port(), "hlscache_upstream_host_ejections_total", dead_labels).value_or(0), 1)
        << "edge-" << e + 1;
    EXPECT_EQ(edge_metric(edge_[e].port(), "hlscache_upstream_host_up", dead_labels).value_or(-1), 0) << "edge-" << e + 1;
  }
  // origin-2 now serves every new segment, its own and origin-1's.
  std::set<std::string> at_origin2;
  for (const auto& p : logged_paths(origin_log(1))) at_origin2.insert(p);
  for (const auto& seg : phase2) EXPECT_TRUE(at_origin2.count(seg)) << seg << " did not move to origin-2";

  // --- origin-1 back on its port: it takes its keys back -----------------------
  start_origin(0, dead_port);
  ASSERT_TRUE(origin_[0].running()) << origin_[0].error();
  for (int e = 0; e < 2; ++e)
    EXPECT_TRUE(wait_metric(edge_[e].port(), "hlscache_upstream_host_up", dead_labels, [](double v) { return v == 1; }, 5s))
        << "edge-" << e + 1 << " did not take origin-1 back";
  auto phase3 = watch(4, "origin-1 back");
  // Until a new segment falls to origin-1 (each does with probability 1/2).
  for (int extra = 0; extra < 10; ++extra) {
    if (std::any_of(phase3.begin(), phase3.end(), [&](const std::string& s) { return owner_of(s) == 0; })) break;
    auto more = watch(1, "origin-1 back");
    phase3.insert(phase3.end(), more.begin(), more.end());
  }
  ASSERT_GE(phase3.size(), 3u);
  auto back = logged_paths(origin_log(0));
  std::size_t owned_by_1 = 0;
  for (const auto& seg : phase3) owned_by_1 += owner_of(seg) == 0;
  std::set<std::string> served_by_1;  // each edge asks once: two log lines, one miss and one hit
  for (const auto& p : back)
    if (p.ends_with(".ts")) {
      served_by_1.insert(p);
      EXPECT_EQ(owner_of(p), 0) << p;
    }
  EXPECT_GE(owned_by_1, 1u) << "no new segment fell to origin-1: the check below proves nothing";
  EXPECT_EQ(served_by_1.size(), owned_by_1) << "origin-1 should serve exactly the new segments it owns";

  // Across all three phases, every segment reached the segmenter exactly once.
  at_local.clear();
  for (const auto& p : logged_paths((dir_ / "local.log").string())) ++at_local[p];
  for (const auto& [p, n] : at_local)
    if (p.ends_with(".ts")) {
      EXPECT_EQ(n, 1) << p;
    }
}

}  // namespace
}  // namespace hlscache::test
