// Low-Latency HLS with a real player: hls.js (lowLatencyMode: true) in headless Chromium
// plays a container: cmaf stream from role local through an origin and an edge for 20 s.
// It plays from parts (it loads EXT-X-PART URIs and blocking reloads), decodes new frames
// throughout (never a second without one, after the first), and reports no fatal error.
// Its latency to the live edge — the wall clock less the PROGRAM-DATE-TIME of the frame
// on screen — is printed, not asserted (figures belong to benchmarks).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <thread>

#include "chromium_util.hpp"
#include "local_test_util.hpp"

namespace hlscache::test {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using LowLatencyPlayerTest = LocalTest;

std::string tier_config(const char* role, std::uint16_t upstream) {
  return fmt::format("role: {}\nthreads: 2\nlisten:\n  - address: 127.0.0.1:0\n"
                     "upstream: {{hosts: ['127.0.0.1:{}']}}\nassets_dir: {}\n"
                     "logging: {{level: warn}}\ntimeouts: {{drain: 2s}}\n",
                     role, upstream, assets_dir());
}

// hls.js from the edge, in low-latency mode, on a muted <video>; its fatal errors, the
// parts it loaded and the blocking reloads it sent are kept in window.ll.
const char* kPlayer =
    "new Promise((resolve, reject) => {"
    "  const s = document.createElement('script');"
    "  s.src = '/assets/hls.min.js'; s.onload = resolve;"
    "  s.onerror = () => reject(new Error('/assets/hls.min.js did not load'));"
    "  document.documentElement.appendChild(s);"
    "}).then(() => {"
    "  window.ll = {fatal: [], parts: 0, blocking: 0};"
    "  const v = document.createElement('video'); v.muted = true; v.autoplay = true;"
    "  document.documentElement.appendChild(v);"
    "  const hls = new Hls({lowLatencyMode: true, debug: false});"
    "  hls.on(Hls.Events.ERROR, (e, d) => { if (d.fatal) ll.fatal.push(d.type + ' ' + d.details); });"
    "  hls.on(Hls.Events.FRAG_LOADED, (e, d) => { if (d.part) ll.parts++; });"
    "  hls.on(Hls.Events.LEVEL_LOADING, (e, d) => { if (d.deliveryDirectives) ll.blocking++; });"
    "  hls.loadSource('/live/ll/index.m3u8'); hls.attachMedia(v); window.hls = hls;"
    "  return Hls.version; })";

const char* kSample =
    "(() => { const v = document.querySelector('video'); const d = window.hls && hls.playingDate;"
    " return { frames: v.getVideoPlaybackQuality().totalVideoFrames, t: v.currentTime,"
    " latency: d ? (Date.now() - d.getTime()) / 1000 : -1, parts: ll.parts, blocking: ll.blocking,"
    " fatal: ll.fatal.join('; ') }; })()";

TEST_F(LowLatencyPlayerTest, HlsJsInLowLatencyModePlaysFromPartsThroughOriginAndEdge) {
  LOCAL_REQUIRE_FFMPEG();
  PLAYER_REQUIRE_CHROMIUM_AND_HLSJS();
  const std::string clip = make_clip(4);
  ASSERT_FALSE(clip.empty());
  ASSERT_NO_FATAL_FAILURE(start(local_yaml(fmt::format(
      "  - name: ll\n    target_duration: 1s\n    window: 12\n    container: cmaf\n    part_target: 330ms\n"
      "    source: {{file: {}, loop: true}}\n",
      clip))));
  ASSERT_TRUE(wait_playlist("/live/ll/index.m3u8", [](const MediaPlaylist& m) { return m.entries.size() >= 3; }, 10s).valid);
  Daemon origin = Daemon::start(tier_config("origin", port_));
  ASSERT_TRUE(origin.running()) << origin.error();
  Daemon edge = Daemon::start(tier_config("edge", origin.port()));
  ASSERT_TRUE(edge.running()) << edge.error();

  Chromium browser(tmp_);
  ASSERT_EQ(browser.start(), "") << browser.describe();
  browser.page().navigate(fmt::format("http://127.0.0.1:{}/healthz", edge.port()));
  const json::value version = browser.page().evaluate(kPlayer, 10s);
  ASSERT_TRUE(version.is_string()) << json::serialize(version);

  PageSampler sampler(browser.page(), kSample, 500ms);
  std::this_thread::sleep_for(20s);
  sampler.stop();
  const auto samples = sampler.samples();
  ASSERT_GE(samples.size(), 30u);
  std::string table = "  s | frames | currentTime | latency s | parts | blocking reloads\n";
  std::vector<double> latencies;
  int first_frame = -1, longest_still = 0, still = 0, last_frames = 0, parts = 0, blocking = 0;
  std::string fatal;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    if (!samples[i].value.is_object()) continue;
    const auto& o = samples[i].value.as_object();
    const int frames = o.at("frames").to_number<int>();
    const double latency = o.at("latency").to_number<double>();
    parts = o.at("parts").to_number<int>();
    blocking = o.at("blocking").to_number<int>();
    fatal = std::string(o.at("fatal").as_string());
    table += fmt::format("  {:4.1f} | {:5} | {:6.2f} | {:5.2f} | {} | {}\n", 0.5 * static_cast<double>(i), frames,
                         o.at("t").to_number<double>(), latency, parts, blocking);
    if (first_frame < 0 && frames > 0) first_frame = static_cast<int>(i);
    if (first_frame >= 0) {
      still = frames > last_frames ? 0 : still + 1;
      longest_still = std::max(longest_still, still);
      if (latency > 0 && static_cast<int>(i) > first_frame + 4) latencies.push_back(latency);
    }
    last_frames = frames;
  }
  EXPECT_EQ(fatal, "") << table;
  ASSERT_GE(first_frame, 0) << "the video never started\n" << table;
  EXPECT_LE(longest_still, 2) << "samples 500 ms apart without a new decoded frame\n" << table;
  EXPECT_GT(parts, 10) << "hls.js did not play from parts\n" << table;
  EXPECT_GT(blocking, 5) << "hls.js sent no blocking playlist reloads\n" << table;
  ASSERT_FALSE(latencies.empty()) << table;
  std::sort(latencies.begin(), latencies.end());
  std::printf("hls.js %s low-latency mode through origin and edge (1 s target, 330 ms parts): latency to live "
              "p50 %.2f s, max %.2f s over %zu samples; %d parts, %d blocking reloads\n%s",
              std::string(version.as_string()).c_str(), latencies[latencies.size() / 2], latencies.back(),
              latencies.size(), parts, blocking, table.c_str());
  for (auto* d : {&edge, &origin}) EXPECT_TRUE(d->stop().exited);
}

}  // namespace
}  // namespace hlscache::test
