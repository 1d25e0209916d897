// The status page (GET /, /status.json, /assets/*) on role local: the JSON lists the
// live streams with their URLs, state, viewers and request counts and the counters
// the page shows; a pushed stream goes waiting -> live -> paused -> ended;
// status_page: false turns every one of its paths off; and in headless Chromium
// (driven over the DevTools protocol, chromium_util.hpp) the page loads without a console error, its
// <video> plays the stream through hls.js — currentTime advances — and the stream's
// chart gets drawn from the page's polls. (status_edge_test.cpp: the edge's side.)
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <thread>

#include "chromium_util.hpp"
#include "local_test_util.hpp"

namespace hlscache::test {
namespace {

namespace json = boost::json;

using StatusPageTest = LocalTest;

std::string stream_yaml(const std::string& clip) {
  return fmt::format("  - name: show\n    target_duration: 1s\n    window: 6\n    source: {{file: {}, loop: true}}\n", clip);
}

TEST_F(StatusPageTest, StatusJsonListsStreamsAndCounters) {
  LOCAL_REQUIRE_FFMPEG();
  const std::string clip = make_clip(4);
  ASSERT_FALSE(clip.empty());
  ASSERT_NO_FATAL_FAILURE(start(local_yaml(stream_yaml(clip)) + "assets_dir: " + assets_dir() + "\n"));
  auto p = wait_playlist("/live/show/index.m3u8", [](const MediaPlaylist& m) { return !m.entries.empty(); }, 10s);
  ASSERT_FALSE(p.entries.empty()) << p.error;
  for (int i = 0; i < 5; ++i) get("/live/show/" + p.entries.back().uri);  // one miss, then hits

  auto page = get("/");
  ASSERT_EQ(page.status, 200) << page.describe();
  EXPECT_EQ(page.header("Content-Type").value_or(""), "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("<title>hlscache status</title>"), std::string::npos);
  EXPECT_NE(page.body.find("/status.json"), std::string::npos);
  // What the page builds its parts from: both hit ratios, the state badge, the
  // upstream host list, the charts (drawn by the page's script: HeadlessChromium... below).
  for (const char* part : {"id=\"hit-start\"", "hit ratio since start", "id=\"hit-recent\"", "id=\"hit-window\"",
                           "\"badge \" + state", "id=\"upstream-groups\"", "id=\"node-chart\"", "el(\"div\", \"chart\")"})
    EXPECT_NE(page.body.find(part), std::string::npos) << part;

  // A viewer: an address that fetched a playlist within 2 x the target duration (the
  // first poll above may have been held up to a second for the first segment).
  EXPECT_EQ(get("/live/show/index.m3u8").status, 200);
  std::this_thread::sleep_for(1100ms);  // rates need two samples at least 1 s apart
  auto r = get("/status.json");
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.header("Content-Type").value_or(""), "application/json");
  EXPECT_EQ(r.header("Cache-Control").value_or(""), "no-store");
  const json::value v = json::parse(r.body);
  const auto& o = v.as_object();
  EXPECT_EQ(o.at("role").as_string(), "local");
  EXPECT_TRUE(o.at("upstream").is_null());
  EXPECT_GE(o.at("connections").to_number<double>(), 1);
  EXPECT_GE(o.at("requests_total").to_number<double>(), 6);
  EXPECT_GT(o.at("requests_per_s").to_number<double>(), 0);
  // 4 of the 5 segment requests were hits; playlists on local are not cached lookups.
  EXPECT_GT(o.at("hit_ratio").to_number<double>(), 0.3);
  EXPECT_LE(o.at("hit_ratio").to_number<double>(), 1.0);
  const auto& streams = o.at("streams").as_array();
  ASSERT_EQ(streams.size(), 1u);
  EXPECT_EQ(streams[0].at("name").as_string(), "show");
  EXPECT_EQ(streams[0].at("url").as_string(), "/live/show/index.m3u8");
  ASSERT_EQ(streams[0].at("renditions").as_array().size(), 1u);
  EXPECT_TRUE(streams[0].at("renditions").as_array()[0].at("publishing").as_bool());
  // A looped file at real-time pace: live, a segment about every second.
  EXPECT_EQ(streams[0].at("state").as_string(), "live");
  EXPECT_EQ(streams[0].at("renditions").as_array()[0].at("state").as_string(), "live");
  EXPECT_LT(streams[0].at("last_segment_age_s").to_number<double>(), 1.5 + 0.5);
  EXPECT_EQ(streams[0].at("viewers").to_number<double>(), 1) << r.body;
  EXPECT_GE(streams[0].at("requests_total").to_number<double>(), 7);
  EXPECT_GE(streams[0].at("origin_requests_total").to_number<double>(), 1);
  EXPECT_LE(streams[0].at("origin_requests_total").to_number<double>(),
            streams[0].at("requests_total").to_number<double>());

  struct stat st {};
  if (::stat((assets_dir() + "/hls.min.js").c_str(), &st) == 0) {
    EXPECT_EQ(o.at("player").as_string(), "/assets/hls.min.js");
    auto js = get("/assets/hls.min.js");
    EXPECT_EQ(js.status, 200);
    EXPECT_EQ(js.body.size(), static_cast<std::size_t>(st.st_size));
    EXPECT_EQ(js.header("Content-Type").value_or(""), "text/javascript; charset=utf-8");
  } else {
    EXPECT_TRUE(o.at("player").is_null());
  }
  EXPECT_EQ(get("/assets/nosuch.js").status, 404);
  EXPECT_EQ(get("/assets/.hidden").status, 404);
}

json::object stream_status(std::uint16_t port, std::string_view name) {
  auto r = ::hlscache::test::get(port, "/status.json", {}, 5s);
  EXPECT_EQ(r.status, 200) << r.describe();
  if (r.status != 200) return {};
  const json::value v = json::parse(r.body);
  for (const auto& s : v.at("streams").as_array())
    if (s.at("name").as_string() == name) return s.as_object();
  ADD_FAILURE() << "no stream " << name << " in " << r.body;
  return {};
}

std::string state_of(const json::object& s) { return s.empty() ? "(none)" : std::string(s.at("state").as_string()); }

// A pushed stream: waiting before the publisher, live while segments land, paused when
// the publisher stays connected but sends nothing for more than 1.5 target durations,
// ended (with its last segment's age) once the push ends cleanly.
TEST_F(StatusPageTest, PushedStreamGoesWaitingLivePausedEnded) {
  LOCAL_REQUIRE_FFMPEG();
  const std::string clip = make_clip(6);
  ASSERT_FALSE(clip.empty());
  ASSERT_NO_FATAL_FAILURE(start(local_yaml("  - name: push\n    target_duration: 1s\n    source: {ingest: true}\n")));
  auto s = stream_status(port_, "push");
  EXPECT_EQ(state_of(s), "waiting");
  ASSERT_FALSE(s.empty());
  EXPECT_TRUE(s.at("last_segment_age_s").is_null());
  EXPECT_EQ(s.at("renditions").as_array()[0].at("state").as_string(), "waiting");
  EXPECT_FALSE(s.at("renditions").as_array()[0].at("publishing").as_bool());

  const std::string ts = read_file(clip);
  ASSERT_GT(ts.size(), 188u * 100);
  const std::size_t half = ts.size() / 2 / 188 * 188;
  Pusher pusher(port_, "/ingest/push");
  ASSERT_TRUE(pusher.connected());
  ASSERT_TRUE(pusher.send(std::string_view(ts).substr(0, half)));  // ~3 s of media at once: segments cut at once
  auto p = wait_playlist("/live/push/index.m3u8", [](const MediaPlaylist& m) { return m.entries.size() >= 2; }, 5s);
  ASSERT_GE(p.entries.size(), 2u) << p.error;
  s = stream_status(port_, "push");
  EXPECT_EQ(state_of(s), "live");
  ASSERT_FALSE(s.empty());
  EXPECT_LT(s.at("last_segment_age_s").to_number<double>(), 1.5);
  EXPECT_TRUE(s.at("renditions").as_array()[0].at("publishing").as_bool());
  EXPECT_GE(s.at("viewers").to_number<double>(), 1);

  // Connected, silent: paused once no segment came for 1.5 x 1 s.
  const auto t0 = LocalClock::now();
  do {
    s = stream_status(port_, "push");
    if (state_of(s) != "live") break;
    std::this_thread::sleep_for(100ms);
  } while (ms_since(t0) < 5000);
  EXPECT_EQ(state_of(s), "paused");
  ASSERT_FALSE(s.empty());
  EXPECT_GE(s.at("last_segment_age_s").to_number<double>(), 1.5);  // one decimal
  EXPECT_EQ(s.at("renditions").as_array()[0].at("state").as_string(), "paused");

  ASSERT_TRUE(pusher.send(std::string_view(ts).substr(half)));
  auto done = pusher.finish();
  EXPECT_EQ(done.status, 200) << done.describe();
  const auto t1 = LocalClock::now();
  while ((s = stream_status(port_, "push"), state_of(s) != "ended") && ms_since(t1) < 3000)
    std::this_thread::sleep_for(50ms);
  EXPECT_EQ(state_of(s), "ended");
  ASSERT_FALSE(s.empty());
  EXPECT_FALSE(s.at("renditions").as_array()[0].at("publishing").as_bool());
  EXPECT_TRUE(s.at("last_segment_age_s").is_number());
  EXPECT_GE(s.at("requests_total").to_number<double>(), 1) << "this test's playlist polls";
}

TEST_F(StatusPageTest, StatusPageOffFreesItsPaths) {
  LOCAL_REQUIRE_FFMPEG();
  const std::string clip = make_clip(4);
  ASSERT_FALSE(clip.empty());
  ASSERT_NO_FATAL_FAILURE(start(local_yaml(stream_yaml(clip)) + "status_page: false\nassets_dir: " + assets_dir() + "\n"));
  EXPECT_EQ(get("/").status, 404);
  EXPECT_EQ(get("/status.json").status, 404);
  EXPECT_EQ(get("/assets/hls.min.js").status, 404);
  EXPECT_EQ(get("/healthz").status, 200);
}

TEST_F(StatusPageTest, HeadlessChromiumPlaysTheStreamAndDrawsItsChartWithoutConsoleErrors) {
  LOCAL_REQUIRE_FFMPEG();
  PLAYER_REQUIRE_CHROMIUM_AND_HLSJS();
  const std::string clip = make_clip(4);
  ASSERT_FALSE(clip.empty());
  ASSERT_NO_FATAL_FAILURE(start(local_yaml(stream_yaml(clip)) + "assets_dir: " + assets_dir() + "\n"));
  auto p = wait_playlist("/live/show/index.m3u8", [](const MediaPlaylist& m) { return m.entries.size() >= 3; }, 10s);
  ASSERT_GE(p.entries.size(), 3u) << p.error;

  Chromium browser(tmp_);
  const std::string started = browser.start();
  ASSERT_EQ(started, "") << browser.describe();
  DevToolsPage& page = browser.page();
  page.navigate(fmt::format("http://127.0.0.1:{}/", port_));

  // Every 500 ms for up to 20 s: the <video>'s currentTime, the stream's requests/s
  // sparkline (its point count and SVG path) and its state badge.
  std::vector<double> current_times;
  json::object last;
  const auto t0 = LocalClock::now();
  while (ms_since(t0) < 20'000) {
    std::this_thread::sleep_for(500ms);
    const json::value v = page.evaluate(
        "(() => { const v = document.querySelector('video');"
        " const p = document.querySelector('.stream path[data-series=\"rps\"]');"
        " const b = document.querySelector('.stream .badge');"
        " return { t: v ? v.currentTime : -1, points: p ? Number(p.dataset.points) : -1,"
        " d: p ? p.getAttribute('d') || '' : '', badge: b ? b.textContent : '' }; })()");
    ASSERT_TRUE(v.is_object()) << json::serialize(v);
    last = v.as_object();
    current_times.push_back(last.at("t").to_number<double>());
    // Enough seen: more than 3 s of media played, and three polls (2 s apart) charted.
    if (current_times.back() > 3.0 && last.at("points").to_number<int>() >= 3) break;
  }
  const int chart_points = last.at("points").to_number<int>();
  const std::string chart_path(last.at("d").as_string());
  std::string errors;
  for (const auto& e : page.console_errors()) errors += e + "\n";
  EXPECT_TRUE(page.console_errors().empty()) << errors;
  ASSERT_FALSE(current_times.empty());
  std::string times;
  for (double t : current_times) times += fmt::format("{:.2f} ", t);
  // Playing: currentTime moved on by more than 3 s of media within the 20 s watched.
  double first_positive = -1;
  for (double t : current_times)
    if (t > 0) {
      first_positive = t;
      break;
    }
  EXPECT_GE(first_positive, 0) << "the video never started: " << times;
  EXPECT_GT(current_times.back(), 3.0) << "currentTime did not advance: " << times;
  // The page's own history of its polls, drawn: a path through each sample.
  EXPECT_GE(chart_points, 3) << chart_path;
  EXPECT_EQ(std::count(chart_path.begin(), chart_path.end(), 'L'), chart_points - 1) << chart_path;
  EXPECT_EQ(last.at("badge").as_string(), "live");
}

}  // namespace
}  // namespace hlscache::test
