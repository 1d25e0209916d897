// Three tiers over HTTP/2, end to end: an edge talks h2 over TLS (ALPN, the origin's
// certificate verified against a CA file and a name) to an origin, which talks h2c
// to a `local` segmenter looping a clip; ffmpeg plays the stream from the edge.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <thread>

#include "edge_test_util.hpp"
#include "h2_test_util.hpp"
#include "local_test_util.hpp"

namespace hlscache::test {
namespace {

TEST(H2Tiers, EdgeH2OverTlsToOriginH2cToLocalPlaysWithFfmpeg) {
  LOCAL_REQUIRE_FFMPEG();
  H2_REQUIRE_TOOLS();
  const std::string dir = make_temp_dir("hlscache-tiers-");
  ASSERT_TRUE(make_certificate(dir, "origin", {"origin.test"}));
  const std::string clip = make_clip(4);
  ASSERT_FALSE(clip.empty());

  Daemon local = Daemon::start(fmt::format("role: local\nthreads: 1\n"
                                           "listen: [{{address: 127.0.0.1:0, http2: true}}]\n"
                                           "streams:\n  - name: tier\n    target_duration: 1s\n"
                                           "    source: {{file: {}, loop: true}}\n",
                                           clip));
  ASSERT_TRUE(local.running()) << local.error();
  Daemon origin = Daemon::start(fmt::format("role: origin\nthreads: 2\n"
                                            "listen:\n  - address: 127.0.0.1:0\n    http2: true\n"
                                            "    tls: {{cert: {0}/origin.pem, key: {0}/origin.key}}\n"
                                            "upstream: {{hosts: ['127.0.0.1:{1}'], protocol: h2c}}\n",
                                            dir, local.port()));
  ASSERT_TRUE(origin.running()) << origin.error();
  Daemon edge = Daemon::start(fmt::format("role: edge\nthreads: 2\n"
                                          "listen: [{{address: 127.0.0.1:0, http2: true}}]\n"
                                          "upstream:\n  hosts: ['127.0.0.1:{1}']\n  protocol: h2\n"
                                          "  tls: {{ca_file: {0}/origin.pem, server_name: origin.test}}\n",
                                          dir, origin.port()));
  ASSERT_TRUE(edge.running()) << edge.error();

  // The first segments through all three tiers.
  bool listed = false;
  const auto t0 = std::chrono::steady_clock::now();
  while (!listed && std::chrono::steady_clock::now() - t0 < 10s) {
    auto r = get(edge.port(), "/live/tier/index.m3u8", {}, 5s);
    listed = r.status == 200 && parse_media_playlist(r.body).entries.size() >= 2;
    if (!listed) std::this_thread::sleep_for(200ms);
  }
  ASSERT_TRUE(listed) << "edge:\n" << edge.log() << "\norigin:\n" << origin.log();

  const std::string out = dir + "/played.ts";
  auto play = run_command({"ffmpeg", "-hide_banner", "-v", "error", "-y", "-i",
                           "http://127.0.0.1:" + std::to_string(edge.port()) + "/live/tier/index.m3u8", "-t", "3",
                           "-c", "copy", "-f", "mpegts", out},
                          std::chrono::seconds(30));
  EXPECT_EQ(play.exit_code, 0) << play.err;
  auto v = probe_video(out);
  EXPECT_TRUE(v.ok) << v.error;
  EXPECT_GT(v.frames, 25) << "about 3 s of 25 fps video";

  // HTTP/2 on both hops: the origin saw TLS h2 connections, the segmenter h2c ones.
  auto origin_metrics = run_command(
      {"curl", "-sk", "--max-time", "5", "https://127.0.0.1:" + std::to_string(origin.port()) + "/metrics"}, 10s);
  EXPECT_GE(metric_value(origin_metrics.out, "hlscache_connections_by_protocol_total", "protocol=\"http2\"").value_or(0), 1);
  EXPECT_GE(metric_value(origin_metrics.out, "hlscache_tls_connections_total").value_or(0), 1);
  EXPECT_GE(edge_metric(local.port(), "hlscache_connections_by_protocol_total", "protocol=\"http2\"").value_or(0), 1);
  // Multiplexed: a handful of connections per hop (one per thread and host), not one per request.
  auto edge_connects = edge_metric(edge.port(), "hlscache_upstream_connects_total").value_or(-1);
  auto edge_requests = edge_metric(edge.port(), "hlscache_upstream_requests_total").value_or(-1);
  EXPECT_GE(edge_requests, 3);
  EXPECT_LE(edge_connects, 2) << edge_requests << " upstream requests";

  for (Daemon* d : {&edge, &origin, &local}) {
    auto st = d->stop(SIGTERM, 10s);
    EXPECT_TRUE(st.exited && st.code == 0) << st.describe() << "\n" << d->log();
  }
  remove_tree(dir);
}

}  // namespace
}  // namespace hlscache::test

namespace hlscache::test {
namespace {

// The HTTP/2 upstream keeps the ring's failover and health rules: with one upstream
// that accepts connections and never answers (no SETTINGS, no response), every fetch
// whose first host is that one times out at upstream_first_byte and is retried on
// the next host; the silent host is ejected after health.fail_threshold failures.
TEST(H2Tiers, H2UpstreamFailsOverFromASilentHostAndEjectsIt) {
  FakeOrigin origin;
  for (int i = 0; i < 12; ++i) {
    OriginReply r;
    r.body = "segment " + std::to_string(i);
    origin.set("/live/f/seg_" + std::to_string(i) + ".ts", r);
  }
  // The middle tier: a daemon with an h2c listener in front of FakeOrigin.
  Daemon mid = Daemon::start(fmt::format("role: origin\nthreads: 1\nlisten: [{{address: 127.0.0.1:0, http2: true}}]\n"
                                         "upstream: {{hosts: ['127.0.0.1:{}']}}\n",
                                         origin.port()));
  ASSERT_TRUE(mid.running()) << mid.error();
  SilentListener silent;
  ASSERT_NE(silent.port(), 0);
  Daemon edge = Daemon::start(fmt::format(
      "role: edge\nthreads: 1\nlisten: [{{address: 127.0.0.1:0}}]\n"
      "timeouts: {{upstream_first_byte: 300ms, upstream_connect: 300ms}}\n"
      "upstream:\n  hosts: ['127.0.0.1:{}', '127.0.0.1:{}']\n  protocol: h2c\n  retries: 1\n"
      "  health: {{fail_threshold: 2, eject_base: 30s}}\n",
      silent.port(), mid.port()));
  ASSERT_TRUE(edge.running()) << edge.error();
  for (int i = 0; i < 12; ++i) {
    auto r = get(edge.port(), "/live/f/seg_" + std::to_string(i) + ".ts", {}, 5s);
    EXPECT_EQ(r.status, 200) << r.describe();
    EXPECT_EQ(r.body, "segment " + std::to_string(i));
  }
  EXPECT_GE(edge_metric(edge.port(), "hlscache_upstream_retries_total").value_or(0), 1)
      << "some keys hash to the silent host first";
  const std::string silent_id = "127.0.0.1:" + std::to_string(silent.port());
  auto metrics = get(edge.port(), "/metrics").body;
  EXPECT_NE(metrics.find("hlscache_upstream_host_up{group=\"default\",host=\"" + silent_id + "\"} 0"),
            std::string::npos)
      << "the silent host is ejected\n" << metrics;
  for (Daemon* d : {&edge, &mid}) {
    auto st = d->stop(SIGTERM, 10s);
    EXPECT_TRUE(st.exited && st.code == 0) << st.describe() << "\n" << d->log();
  }
}

}  // namespace
}  // namespace hlscache::test
