// Ahead of live through the tiers (issue 15, item 6), real processes on loopback:
//   local segmenter (6 s segments) <- origin <- edge
// all with the default timeouts.upstream_first_byte (5 s, shorter than a 6 s hold) and
// freshness.negative_ttl 30 s. Through the edge: a segment two ahead of the playlist is
// a 404 at once; when it becomes the next one it is held by the segmenter until it
// exists (about 6 s) and served 200 — never 504, never the 404 of before — and neither
// the edge nor the origin counts a failure against its upstream host. About 20 s.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cctype>
#include <thread>

#include "edge_test_util.hpp"
#include "local_test_util.hpp"
#include "support/daemon.hpp"
#include "support/http_client.hpp"

namespace hlscache::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const std::string kStream = "/live/t/";

// `uri` with the last run of digits before its extension raised by `k`: the segment
// `k` after it, whatever the name around the counter (seg_N.ts, seg_<session>_N.ts).
std::string segment_after(const std::string& uri, std::uint64_t k) {
  const std::size_t dot = uri.rfind('.');
  std::size_t end = dot == std::string::npos ? uri.size() : dot;
  while (end > 0 && !std::isdigit(static_cast<unsigned char>(uri[end - 1]))) --end;
  std::size_t begin = end;
  while (begin > 0 && std::isdigit(static_cast<unsigned char>(uri[begin - 1]))) --begin;
  if (begin == end) return {};
  return uri.substr(0, begin) + std::to_string(std::stoull(uri.substr(begin, end - begin)) + k) + uri.substr(end);
}

double metric_or(std::uint16_t port, std::string_view name, std::string_view labels = {}) {
  return edge_metric(port, name, labels).value_or(-1);
}

class TierLiveEdge : public ::testing::Test {
 protected:
  void SetUp() override {
    LOCAL_REQUIRE_FFMPEG();
    const std::string clip = make_clip(4);
    ASSERT_FALSE(clip.empty());
    local_ = Daemon::start(fmt::format(R"(role: local
threads: 1
listen: [{{address: 127.0.0.1:0}}]
streams:
  - {{name: t, target_duration: 6s, source: {{file: '{}', loop: true}}}}
freshness: {{negative_ttl: 30s}}
logging: {{level: warn}}
)", clip));
    ASSERT_TRUE(local_.running()) << local_.error();
    origin_ = Daemon::start(upstream_yaml("origin", local_.port()));
    ASSERT_TRUE(origin_.running()) << origin_.error();
    edge_ = Daemon::start(upstream_yaml("edge", origin_.port()));
    ASSERT_TRUE(edge_.running()) << edge_.error();
  }

  void TearDown() override {
    for (auto* d : {&edge_, &origin_, &local_}) {
      if (d->running()) {
        EXPECT_TRUE(d->stop().exited);
      }
    }
  }

  static std::string upstream_yaml(const char* role, std::uint16_t upstream) {
    return fmt::format(R"(role: {}
threads: 2
listen: [{{address: 127.0.0.1:0}}]
upstream: {{hosts: ['127.0.0.1:{}']}}
freshness: {{negative_ttl: 30s}}
timeouts: {{drain: 2s}}
logging: {{level: warn}}
)", role, upstream);
  }

  // No failure of the tier on `port` against its one upstream host at `upstream`.
  void expect_no_upstream_failure(std::uint16_t port, std::uint16_t upstream, const char* tier) {
    const std::string host = fmt::format("group=\"default\",host=\"127.0.0.1:{}\"", upstream);
    EXPECT_EQ(metric_or(port, "hlscache_upstream_host_errors_total", host), 0) << tier;
    EXPECT_EQ(metric_or(port, "hlscache_upstream_host_up", host), 1) << tier;
    EXPECT_EQ(metric_or(port, "hlscache_upstream_errors_total"), 0) << tier;
    EXPECT_EQ(metric_or(port, "hlscache_upstream_held_timeouts_total"), 0) << tier;
  }

  Daemon local_, origin_, edge_;
};

TEST_F(TierLiveEdge, TheNextSegmentIsServedAfterTheHoldAndA404AheadIsNeverKept) {
  // The segmenter's first segment (the playlist request waits for it).
  MediaPlaylist first;
  const auto until = Clock::now() + 20s;
  while (Clock::now() < until && first.entries.empty()) {
    first = parse_media_playlist(get(local_.port(), kStream + "index.m3u8", {}, 12s).body);
    if (first.entries.empty()) std::this_thread::sleep_for(200ms);
  }
  ASSERT_FALSE(first.entries.empty()) << "no segment in 20 s: " << first.error;
  EXPECT_EQ(first.target_duration, 6);

  // The edge (and the origin behind it) learn where the stream stands.
  const MediaPlaylist at_edge = parse_media_playlist(get(edge_.port(), kStream + "index.m3u8").body);
  ASSERT_FALSE(at_edge.entries.empty()) << at_edge.error << at_edge.text;
  const std::string last = at_edge.entries.back().uri;
  const std::string next = kStream + segment_after(last, 1), second = kStream + segment_after(last, 2);
  ASSERT_NE(next, kStream) << "no counter in " << last;

  // Two ahead: not there yet.
  auto ahead = get(edge_.port(), second);
  EXPECT_EQ(ahead.status, 404) << ahead.describe();

  // The next one (asked of the segmenter directly, which holds the request until it is
  // cut); then the second is the next one, about 6 s away — longer than upstream_first_byte.
  auto cut = get(local_.port(), next, {}, 12s);
  ASSERT_EQ(cut.status, 200) << cut.describe();
  const auto t0 = Clock::now();
  auto held = get(edge_.port(), second, {}, 15s);
  const double waited = ms_between(t0, Clock::now());
  ASSERT_TRUE(held.ok()) << held.describe();
  EXPECT_EQ(held.status, 200) << "after " << waited << " ms: " << held.describe();
  EXPECT_GT(held.body.size(), 10'000u);
  EXPECT_NE(held.header("X-Cache").value_or(""), "HIT") << "the 404 of before was kept";
  EXPECT_GT(waited, 5000) << "the segmenter held the request less than upstream_first_byte: nothing was tested";
  EXPECT_LT(waited, 10'000);
  // Stored like any segment, with the segmenter's bytes.
  auto again = get(edge_.port(), second);
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.header("X-Cache").value_or(""), "HIT");
  EXPECT_EQ(again.body, get(local_.port(), second).body);

  expect_no_upstream_failure(edge_.port(), origin_.port(), "edge");
  expect_no_upstream_failure(origin_.port(), local_.port(), "origin");
}

}  // namespace
}  // namespace hlscache::test
