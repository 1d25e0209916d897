// The status page (GET /, /status.json, /assets/*) on role local: the JSON lists the
// live streams with their URLs, state, viewers and request counts and the counters
// the page shows; a pushed stream goes waiting -> live -> paused -> ended;
// status_page: false turns every one of its paths off; and in headless Chromium
// (driven over the DevTools protocol) the page loads without a console error, its
// <video> plays the stream through hls.js — currentTime advances — and the stream's
// chart gets drawn from the page's polls. (status_edge_test.cpp: the edge's side.)
#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json/src.hpp>  // header-only Boost.JSON (this binary's only user)
#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <thread>

#include "local_test_util.hpp"

namespace hlscache::test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace json = boost::json;

using StatusPageTest = LocalTest;

std::string assets_dir() { return HLSCACHE_SOURCE_DIR "/assets"; }

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

// ---- headless Chromium over the DevTools protocol --------------------------------

bool have_chromium() {
  static const bool ok = run_command({"chromium", "--version"}, 20s).exit_code == 0;
  return ok;
}

struct PageRun {
  std::vector<std::string> console_errors;  // console.error, uncaught exceptions, failed loads
  std::vector<double> current_times;        // the <video>'s currentTime, sampled every 500 ms
  int chart_points = 0;                     // points in the stream's requests/s sparkline (last sample)
  std::string chart_path;                   // its SVG path
  std::string badge;                        // the stream's state badge
  std::string failure;                      // the DevTools session itself failed
};

using WebSocket = beast::websocket::stream<beast::tcp_stream>;

// Records a DevTools event if it is a console error, an uncaught exception or an error log entry.
void note_event(const json::object& o, PageRun& run) {
  const auto* method = o.if_contains("method");
  if (!method) return;
  const auto& params = o.at("params").as_object();
  if (*method == "Runtime.consoleAPICalled") {
    const std::string type(params.at("type").as_string());
    if (type == "error" || type == "assert") run.console_errors.push_back("console." + type + ": " + json::serialize(params.at("args")));
  } else if (*method == "Runtime.exceptionThrown") {
    run.console_errors.push_back("exception: " + json::serialize(params.at("exceptionDetails")));
  } else if (*method == "Log.entryAdded" && params.at("entry").at("level").as_string() == "error") {
    run.console_errors.push_back("log: " + json::serialize(params.at("entry")));
  }
}

// One DevTools command: sends it and reads messages until its reply, noting events on the way.
asio::awaitable<json::value> cdp_call(WebSocket& ws, int id, std::string method, json::object params, PageRun& run) {
  json::object msg;
  msg["id"] = id;
  msg["method"] = method;
  msg["params"] = std::move(params);
  const std::string text = json::serialize(msg);
  co_await ws.async_write(asio::buffer(text), asio::use_awaitable);
  for (;;) {
    beast::flat_buffer buf;
    co_await ws.async_read(buf, asio::use_awaitable);
    json::value m = json::parse(beast::buffers_to_string(buf.data()));
    const auto& o = m.as_object();
    const auto* mid = o.if_contains("id");
    const bool ours = mid != nullptr && mid->to_number<int>() == id;
    if (ours) co_return m;
    note_event(o, run);
  }
}

// Navigates the page target at ws_path to `url` and samples the video and the stream's
// chart for `watch`, or until both have shown what the test wants.
asio::awaitable<void> drive_page(std::uint16_t devtools_port, std::string ws_path, std::string url,
                                 std::chrono::milliseconds watch, PageRun& run) {
  auto ex = co_await asio::this_coro::executor;
  WebSocket ws(ex);
  ws.read_message_max(64 << 20);
  ws.next_layer().expires_after(std::chrono::seconds(5));
  const asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), devtools_port);
  co_await ws.next_layer().async_connect(ep, asio::use_awaitable);
  ws.next_layer().expires_never();
  ws.set_option(beast::websocket::stream_base::timeout::suggested(beast::role_type::client));
  const std::string host = fmt::format("127.0.0.1:{}", devtools_port);
  co_await ws.async_handshake(host, ws_path, asio::use_awaitable);
  int id = 0;
  co_await cdp_call(ws, ++id, std::string("Runtime.enable"), json::object{}, run);
  co_await cdp_call(ws, ++id, std::string("Log.enable"), json::object{}, run);
  co_await cdp_call(ws, ++id, std::string("Page.enable"), json::object{}, run);
  json::object nav_params;
  nav_params["url"] = url;
  json::value nav = co_await cdp_call(ws, ++id, std::string("Page.navigate"), std::move(nav_params), run);
  const auto* err = nav.at("result").as_object().if_contains("errorText");
  if (err != nullptr) {
    run.failure = "navigation failed: " + json::serialize(*err);
    co_return;
  }
  asio::steady_timer timer(ex);
  const auto end = std::chrono::steady_clock::now() + watch;
  while (std::chrono::steady_clock::now() < end) {
    timer.expires_after(std::chrono::milliseconds(500));
    co_await timer.async_wait(asio::use_awaitable);
    json::object eval;
    eval["expression"] =
        "(() => { const v = document.querySelector('video');"
        " const p = document.querySelector('.stream path[data-series=\"rps\"]');"
        " const b = document.querySelector('.stream .badge');"
        " return { t: v ? v.currentTime : -1, points: p ? Number(p.dataset.points) : -1,"
        " d: p ? p.getAttribute('d') || '' : '', badge: b ? b.textContent : '' }; })()";
    eval["returnByValue"] = true;
    json::value r = co_await cdp_call(ws, ++id, std::string("Runtime.evaluate"), std::move(eval), run);
    const auto& result = r.at("result").at("result").as_object();
    const json::object* value = result.contains("value") && result.at("value").is_object() ? &result.at("value").as_object() : nullptr;
    const double t = value ? value->at("t").to_number<double>() : -2;
    run.current_times.push_back(t);
    if (value) {
      run.chart_points = value->at("points").to_number<int>();
      run.chart_path = std::string(value->at("d").as_string());
      run.badge = std::string(value->at("badge").as_string());
    }
    // Enough seen: more than 3 s of media played, and three polls (2 s apart) charted.
    if (t > 3.0 && run.chart_points >= 3) break;
  }
  ws.next_layer().close();
}

TEST_F(StatusPageTest, HeadlessChromiumPlaysTheStreamAndDrawsItsChartWithoutConsoleErrors) {
  LOCAL_REQUIRE_FFMPEG();
  if (!have_chromium()) GTEST_SKIP() << "chromium is not installed (tools/setup/install-deps.sh installs it)";
  struct stat st {};
  ASSERT_EQ(::stat((assets_dir() + "/hls.min.js").c_str(), &st), 0)
      << assets_dir() << "/hls.min.js is missing: run tools/setup/fetch-assets.sh";
  const std::string clip = make_clip(4);
  ASSERT_FALSE(clip.empty());
  ASSERT_NO_FATAL_FAILURE(start(local_yaml(stream_yaml(clip)) + "assets_dir: " + assets_dir() + "\n"));
  auto p = wait_playlist("/live/show/index.m3u8", [](const MediaPlaylist& m) { return m.entries.size() >= 3; }, 10s);
  ASSERT_GE(p.entries.size(), 3u) << p.error;

  const std::string profile = path("chromium-profile");
  auto browser = Process::start({"chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                                 "--disable-sync", "--disable-extensions", "--mute-audio",
                                 "--autoplay-policy=no-user-gesture-required", "--user-data-dir=" + profile,
                                 "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "about:blank"},
                                tmp_);
  ASSERT_TRUE(browser.started());
  // Chromium writes its DevTools port and browser path into the profile once it listens.
  std::string active;
  const auto t0 = LocalClock::now();
  while ((active = read_file(profile + "/DevToolsActivePort")).find('\n') == std::string::npos) {
    ASSERT_LT(ms_since(t0), 20'000) << "chromium did not open its DevTools port: " << browser.describe();
    std::this_thread::sleep_for(100ms);
  }
  const auto devtools_port = static_cast<std::uint16_t>(std::stoi(active.substr(0, active.find('\n'))));
  // The page target (about:blank) and its WebSocket path.
  std::string ws_path;
  for (int i = 0; i < 50 && ws_path.empty(); ++i) {
    auto list = ::hlscache::test::get(devtools_port, "/json/list", {}, 2s);
    const json::value targets = list.status == 200 ? json::parse(list.body) : json::value(json::array{});
    if (targets.is_array())
      for (const auto& t : targets.as_array())
        if (t.at("type").as_string() == "page") {
          const std::string ws_url(t.at("webSocketDebuggerUrl").as_string());
          ws_path = ws_url.substr(ws_url.find('/', std::string("ws://").size()));
          break;
        }
    if (ws_path.empty()) std::this_thread::sleep_for(100ms);
  }
  ASSERT_FALSE(ws_path.empty()) << "no page target in /json/list";

  PageRun run;
  asio::io_context io;
  asio::co_spawn(io, drive_page(devtools_port, ws_path, fmt::format("http://127.0.0.1:{}/", port_), 20s, run),
                 [&](std::exception_ptr e) {
                   if (!e) return;
                   try {
                     std::rethrow_exception(e);
                   } catch (const std::exception& ex) {
                     run.failure = ex.what();
                   }
                 });
  io.run_for(35s);
  browser.kill();
  ASSERT_TRUE(run.failure.empty()) << run.failure;
  std::string errors;
  for (const auto& e : run.console_errors) errors += e + "\n";
  EXPECT_TRUE(run.console_errors.empty()) << errors;
  ASSERT_FALSE(run.current_times.empty());
  std::string times;
  for (double t : run.current_times) times += fmt::format("{:.2f} ", t);
  // Playing: currentTime moved on by more than 3 s of media within the 20 s watched.
  double first_positive = -1;
  for (double t : run.current_times)
    if (t > 0) {
      first_positive = t;
      break;
    }
  EXPECT_GE(first_positive, 0) << "the video never started: " << times;
  EXPECT_GT(run.current_times.back(), 3.0) << "currentTime did not advance: " << times;
  // The page's own history of its polls, drawn: a path through each sample.
  EXPECT_GE(run.chart_points, 3) << run.chart_path;
  EXPECT_EQ(std::count(run.chart_path.begin(), run.chart_path.end(), 'L'), run.chart_points - 1) << run.chart_path;
  EXPECT_EQ(run.badge, "live");
}

}  // namespace
}  // namespace hlscache::test
