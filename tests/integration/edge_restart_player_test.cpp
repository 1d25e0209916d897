// Issue 15's restart with a real player: hls.js in headless Chromium plays a looped
// clip from role local through an edge; the local role is SIGKILLed (a crashed or
// redeployed packager) and started again on the same port. From the restarted run's
// first segment on, the player never goes two target durations without decoding a new
// frame, and it decodes the new run's fragments; the edge hands it the new run's
// playlist within half a target duration (and 250 ms) of that first segment; no fatal
// hls.js error; every segment URI of the new run is new, and the edge serves the local
// role's bytes under it.
//
// What hls.js (1.5.20) does, measured at a 2 s target duration: the new run lands on
// its timeline by PROGRAM-DATE-TIME 1.2-3.4 s after the end of the old run's last
// segment (the media the old run had not cut yet when killed, plus the restart), beyond
// its 0.25 s fragment look-up tolerance. So it does not fetch the new run as the next
// fragment: it plays out its buffer of the old run, stalls, and seeks into the new
// window at a playlist load that finds it stalled (and the media's duration already
// past the old run's end). Three target durations behind the live edge (its default),
// that buffer lasts up to ~4 s past the new run's first segment and the stall is up to
// one reload interval: the first new frame comes 5-6.5 s after the first segment, after
// 1-2.5 s without a new frame (to the 500 ms sampling). One target duration behind, the
// buffer is dry before the new run exists: its next poll (half a target duration) finds
// the new run, the load after that (one target duration later) seeks: ~3 s without a
// new frame.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "chromium_util.hpp"
#include "local_test_util.hpp"

namespace hlscache::test {
namespace {

namespace json = boost::json;

// Where the player sits: hls.js's default, three target durations behind the end of the
// playlist (at the kill its buffer still holds most of that, played out before the new
// run), or one (its buffer runs dry while the local role restarts, so it waits for the new
// run from its first segment on).
struct Latency {
  const char* name;
  const char* hls_config;
};

void PrintTo(const Latency& l, std::ostream* os) { *os << l.name; }

class EdgeRestartPlayerTest : public LocalTest, public ::testing::WithParamInterface<Latency> {};

using Clock = std::chrono::steady_clock;

constexpr auto kTarget = 2s;
const std::string kPlaylist = "/live/show/index.m3u8";

std::string local_config(const std::string& clip, std::uint16_t port) {
  std::string y = local_yaml(fmt::format("  - name: show\n    target_duration: {}s\n    window: 6\n"
                                         "    source: {{file: {}, loop: true}}\n",
                                         kTarget.count(), clip));
  const std::string any = "address: 127.0.0.1:0\n";
  return y.replace(y.find(any), any.size(), fmt::format("address: 127.0.0.1:{}\n", port));
}

std::string edge_config(std::uint16_t upstream) {
  return fmt::format("role: edge\nthreads: 2\nlisten:\n  - address: 127.0.0.1:0\n"
                     "upstream: {{hosts: ['127.0.0.1:{}']}}\nassets_dir: {}\n"
                     "logging: {{level: warn}}\ntimeouts: {{drain: 2s}}\n",
                     upstream, assets_dir());
}

// Loads hls.js from the edge into the page and plays the stream through it: a muted
// <video>, hls.js's errors kept in window.hlsErrors, the URI of the fragment being
// played (FRAG_CHANGED) in window.playing, and in window.hlsLog when (page ms) each
// playlist was loaded (its last URI), each fragment buffered and each began to play, and
// hls.js's warnings (stalls, its seeks to the live window).
std::string player_script(const std::string& hls_config) {
  return "new Promise((resolve, reject) => {"
         "  const s = document.createElement('script');"
         "  s.src = '/assets/hls.min.js'; s.onload = resolve;"
         "  s.onerror = () => reject(new Error('/assets/hls.min.js did not load'));"
         "  document.documentElement.appendChild(s);"
         "}).then(() => {"
         "  window.hlsErrors = []; window.playing = ''; window.hlsLog = [];"
         "  const v = document.createElement('video'); v.muted = true; v.autoplay = true;"
         "  document.documentElement.appendChild(v);"
         "  const at = () => Math.round(performance.now());"
         "  const quiet = () => {}, keep = (level) => (...a) => hlsLog.push([at(), level, a.join(' ').slice(0, 300)]);"
         "  const hls = new Hls(Object.assign(" + hls_config + ", {debug: {trace: quiet, debug: quiet, log: quiet,"
         "    info: quiet, warn: keep('warn'), error: keep('error')}}));"
         "  hls.on(Hls.Events.ERROR, (e, d) => hlsErrors.push({at: at(), fatal: d.fatal, type: d.type,"
         "    details: d.details, url: d.frag ? d.frag.relurl : (d.url || '')}));"
         "  hls.on(Hls.Events.FRAG_CHANGED, (e, d) => { playing = d.frag.relurl; hlsLog.push([at(), 'playing', d.frag.relurl, d.frag.start]); });"
         "  hls.on(Hls.Events.FRAG_BUFFERED, (e, d) => hlsLog.push([at(), 'buffered', d.frag.relurl, d.frag.start, d.frag.end]));"
         "  hls.on(Hls.Events.LEVEL_UPDATED, (e, d) => hlsLog.push([at(), 'playlist', d.details.fragments.at(-1).relurl]));"
         "  hls.loadSource('" + kPlaylist + "'); hls.attachMedia(v); window.hls = hls;"
         "  return Hls.version; })";
}

// What the test samples every 500 ms.
const char* kSample =
    "(() => { const v = document.querySelector('video'); const q = v.getVideoPlaybackQuality();"
    " const b = []; for (let i = 0; i < v.buffered.length; ++i) b.push(v.buffered.start(i).toFixed(2) + '-' + v.buffered.end(i).toFixed(2));"
    " return { now: Math.round(performance.now()), t: v.currentTime, frames: q.totalVideoFrames, playing: window.playing,"
    " buffered: b.join(' '), state: v.readyState }; })()";

// One sample of the player.
struct Point {
  double s = 0;      // seconds since the kill (before it: negative)
  double t = 0;      // the <video>'s currentTime
  int frames = 0;    // getVideoPlaybackQuality().totalVideoFrames
  std::string playing, buffered;  // the fragment playing (its URI), the buffered ranges
  int state = 0;     // readyState
  long page_ms = 0;  // the page's clock (performance.now()), as in window.hlsLog
};

std::vector<Point> timeline(const std::vector<PageSampler::Sample>& samples, Clock::time_point zero) {
  std::vector<Point> points;
  for (const auto& s : samples) {
    if (!s.value.is_object()) continue;
    const auto& o = s.value.as_object();
    points.push_back({std::chrono::duration<double>(s.at - zero).count(), o.at("t").to_number<double>(),
                      o.at("frames").to_number<int>(), std::string(o.at("playing").as_string()),
                      std::string(o.at("buffered").as_string()), o.at("state").to_number<int>(), o.at("now").to_number<long>()});
  }
  return points;
}

std::string describe(const std::vector<Point>& points) {
  std::string s = "   s after kill | page ms | currentTime | frames | readyState | playing | buffered\n";
  for (const auto& p : points)
    s += fmt::format("  {:7.2f} | {:6} | {:8.2f} | {:5} | {} | {} | {}\n", p.s, p.page_ms, p.t, p.frames, p.state, p.playing, p.buffered);
  return s;
}

// The segment URIs of the stream's media playlist on `port` (its lines that are not
// tags, whatever form the URIs take); none if it did not answer 200.
std::vector<std::string> listed_uris(std::uint16_t port) {
  auto r = get(port, kPlaylist, {}, 5s);
  std::vector<std::string> uris;
  if (r.status != 200) return uris;
  std::istringstream in(r.body);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty() && line[0] != '#') uris.push_back(line);
  }
  return uris;
}

void note_uris(const std::vector<std::string>& listed, std::set<std::string>& uris) { uris.insert(listed.begin(), listed.end()); }

bool rose(const std::vector<Point>& points, std::size_t i) { return i > 0 && points[i].frames > points[i - 1].frames; }

// How long the player went without decoding a new frame after `from` (s since the
// kill): the longest stretch from a sample that showed new frames to the next one that
// did, less its part before `from`. To the sampling period (500 ms) either way.
double longest_stall_after(const std::vector<Point>& points, double from) {
  double longest = 0;
  std::size_t last_rise = 0;
  for (std::size_t i = 1; i < points.size(); ++i) {
    const bool end = i + 1 == points.size();
    if (!rose(points, i) && !end) continue;
    longest = std::max(longest, points[i].s - std::max(points[last_rise].s, from));
    last_rise = i;
  }
  return longest;
}

// The first sample after `from` (the new run's first segment, s since the kill) at which
// the player decodes the restarted run: new frames while a fragment of that run plays.
std::optional<std::size_t> first_new_run_frames(const std::vector<Point>& points, double from,
                                                const std::set<std::string>& new_run) {
  for (std::size_t i = 1; i < points.size(); ++i)
    if (points[i].s > from && new_run.count(points[i].playing) && rose(points, i)) return i;
  return std::nullopt;
}

// When (s since the kill) hls.js first loaded a playlist ending in a URI of the new run,
// its page clock put on the test's by the last sample.
std::optional<double> first_new_run_playlist(const json::value& log, const std::vector<Point>& points,
                                             const std::set<std::string>& new_run) {
  if (points.empty()) return std::nullopt;
  const double offset = points.back().s - static_cast<double>(points.back().page_ms) / 1000;
  for (const auto& e : log.as_array()) {
    const auto& event = e.as_array();
    if (event[1].as_string() == "playlist" && new_run.count(std::string(event[2].as_string())))
      return event[0].to_number<double>() / 1000 + offset;
  }
  return std::nullopt;
}

TEST_P(EdgeRestartPlayerTest, HlsJsKeepsDecodingThroughALocalRoleRestartBehindAnEdge) {
  LOCAL_REQUIRE_FFMPEG();
  PLAYER_REQUIRE_CHROMIUM_AND_HLSJS();
  const std::string clip = make_clip(4);
  ASSERT_FALSE(clip.empty());
  ASSERT_NO_FATAL_FAILURE(start(local_config(clip, 0)));
  const std::string restart_yaml = local_config(clip, port_);
  std::set<std::string> old_run, new_run;  // the segment URIs each run's playlists listed
  // Three segments listed before the player starts, so it can sit up to three target durations behind.
  const auto up = Clock::now();
  std::vector<std::string> listed;
  while ((listed = listed_uris(port_)).size() < 3) {
    ASSERT_LT(ms_since(up), 15'000) << "the local role never listed three segments";
    std::this_thread::sleep_for(100ms);
  }
  note_uris(listed, old_run);
  Daemon edge = Daemon::start(edge_config(port_));
  ASSERT_TRUE(edge.running()) << edge.error();

  Chromium browser(tmp_);
  const std::string started = browser.start();
  ASSERT_EQ(started, "") << browser.describe();
  browser.page().navigate(fmt::format("http://127.0.0.1:{}/healthz", edge.port()));
  const json::value version = browser.page().evaluate(player_script(GetParam().hls_config), 10s);
  ASSERT_TRUE(version.is_string()) << json::serialize(version);

  PageSampler sampler(browser.page(), kSample, 500ms);
  // Playing: decoded frames rising, more than two seconds' worth (25 fps).
  const auto t0 = Clock::now();
  std::vector<Point> points;
  for (;;) {
    note_uris(listed_uris(port_), old_run);
    points = timeline(sampler.samples(), t0);
    if (points.size() >= 2 && points.back().frames > 50 && rose(points, points.size() - 1)) break;
    ASSERT_LT(ms_since(t0), 20'000) << "the player did not start:\n" << describe(points) << browser.describe();
    std::this_thread::sleep_for(100ms);
  }

  // The packager crashes and comes back on the same port.
  note_uris(listed_uris(port_), old_run);
  const auto killed = Clock::now();
  daemon_.signal(SIGKILL);
  ASSERT_TRUE(daemon_.wait_exit(5s));
  daemon_ = Daemon::start(restart_yaml);
  ASSERT_TRUE(daemon_.running()) << daemon_.error();
  ASSERT_EQ(daemon_.port(), port_);
  // The restarted run's first segment: a playlist request waits for it (up to 1.5 target durations).
  std::vector<std::string> first;
  while ((first = listed_uris(port_)).empty()) ASSERT_LT(ms_since(killed), 10'000) << "the restarted run listed no segment";
  const auto first_segment = Clock::now();
  const double first_s = std::chrono::duration<double>(first_segment - killed).count();
  note_uris(first, new_run);

  // Watch until the player has decoded the new run for two seconds (the old run's
  // buffer, up to three target durations, plays first), collecting the new run's URIs.
  for (;;) {
    note_uris(listed_uris(port_), new_run);
    points = timeline(sampler.samples(), killed);
    const auto from = first_new_run_frames(points, first_s, new_run);
    if (from && points.size() - *from >= 5) break;
    if (Clock::now() > first_segment + 6 * kTarget) break;
    std::this_thread::sleep_for(200ms);
  }
  sampler.stop();
  points = timeline(sampler.samples(), killed);
  const json::value errors = browser.page().evaluate("hlsErrors");
  const json::value log = browser.page().evaluate("hlsLog");
  const std::string report =
      fmt::format("hls.js {}; killed at 0 s, the restarted run's first segment at {:.2f} s\n{}hls.js errors: {}\n"
                  "hls.js events (page ms): {}\nsampler errors: {}\n",
                  version.as_string().c_str(), first_s, describe(points), json::serialize(errors), json::serialize(log),
                  fmt::join(sampler.errors(), "; "));

  // (a) The player decodes the new run's fragments, and from that run's first segment on it
  // never goes two target durations without a new frame: not while it waits for the new
  // run, nor after.
  const auto from = first_new_run_frames(points, first_s, new_run);
  ASSERT_TRUE(from) << "the player never decoded the restarted run:\n" << report;
  const double gap = longest_stall_after(points, first_s);
  const auto loaded = first_new_run_playlist(log, points, new_run);
  ASSERT_TRUE(loaded) << "hls.js never loaded a playlist of the restarted run:\n" << report;
  std::printf("recovery gap: %.2f s without a new frame after the restarted run's first segment; the edge gave hls.js "
              "that run's playlist %.2f s and its first frames were decoded %.2f s after that segment\n",
              gap, *loaded - first_s, points[*from].s - first_s);
  EXPECT_LE(gap, 2.0 * kTarget.count()) << report;
  // The edge's part: its stale copy was refreshed from the restarted local role the moment
  // that run's first segment was cut (the refresh waits for it there), so the player's next
  // poll of an unchanged playlist (every half target duration) gets the new run.
  EXPECT_LE(*loaded - first_s, kTarget.count() / 2.0 + 0.25) << report;

  // (b) The edge serves the local role's bytes under every new URI; no URI is reused.
  for (const auto& uri : new_run) {
    EXPECT_EQ(old_run.count(uri), 0u) << uri << " was a URI of the run before the restart";
    auto direct = get("/live/show/" + uri);
    auto via_edge = ::hlscache::test::get(edge.port(), "/live/show/" + uri, {}, 5s);
    ASSERT_EQ(direct.status, 200) << uri << ": " << direct.describe();
    ASSERT_EQ(via_edge.status, 200) << uri << ": " << via_edge.describe();
    EXPECT_TRUE(via_edge.body == direct.body) << uri << ": the edge serves other bytes than the local role";
  }

  // (c) No fatal hls.js error.
  std::string fatal;
  for (const auto& e : errors.as_array())
    if (e.at("fatal").as_bool()) fatal += json::serialize(e) + "\n";
  EXPECT_EQ(fatal, "") << report;
  EXPECT_TRUE(edge.stop().exited);
}

INSTANTIATE_TEST_SUITE_P(Latencies, EdgeRestartPlayerTest,
                         ::testing::Values(Latency{"ThreeTargetDurationsBehind", "{}"},
                                           Latency{"OneTargetDurationBehind", "{liveSyncDurationCount: 1}"}),
                         [](const ::testing::TestParamInfo<Latency>& p) { return std::string(p.param.name); });

}  // namespace
}  // namespace hlscache::test
