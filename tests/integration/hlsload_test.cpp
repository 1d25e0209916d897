// tools/hlsload end to end: the real hlsload binary against the real daemon in role
// local (a looped ffmpeg clip cut into 1 s segments). 500 viewers join at once and
// watch for 20 s: no stall, no error, every viewer plays. Also: a missing stream is
// counted as errors (and --fail-on-error exits 1), and a non-loopback target is refused.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <charconv>

#include "local_test_util.hpp"

namespace hlscache::test {
namespace {

using HlsloadTest = LocalTest;

const char* hlsload_binary() { return HLSLOAD_BIN; }

// The number after "key": in hlsload's JSON summary (flat keys are unique; nested
// histogram members are found after their object's key).
std::optional<double> json_number(const std::string& json, std::string_view key, std::string_view within = {}) {
  std::size_t from = 0;
  if (!within.empty()) {
    from = json.find(fmt::format("\"{}\":", within));
    if (from == std::string::npos) return std::nullopt;
  }
  const auto at = json.find(fmt::format("\"{}\":", key), from);
  if (at == std::string::npos) return std::nullopt;
  std::size_t p = at + key.size() + 3;
  while (p < json.size() && json[p] == ' ') ++p;
  double v = 0;
  auto [end, ec] = std::from_chars(json.data() + p, json.data() + json.size(), v);
  if (ec != std::errc{}) return std::nullopt;
  return v;
}

TEST_F(HlsloadTest, FiveHundredViewersWatchTwentySecondsWithoutAStall) {
  LOCAL_REQUIRE_FFMPEG();
  const std::string clip = make_clip(4);
  ASSERT_FALSE(clip.empty());
  ASSERT_NO_FATAL_FAILURE(start(local_yaml(fmt::format(
      "  - name: herd\n    target_duration: 1s\n    window: 6\n    source: {{file: {}, loop: true}}\n", clip))));
  // Viewers join 3 target durations behind the edge (RFC 8216 §6.3.3): let 3 segments exist.
  auto p = wait_playlist("/live/herd/index.m3u8", [](const MediaPlaylist& m) { return m.entries.size() >= 3; }, 10s);
  ASSERT_GE(p.entries.size(), 3u) << p.error << "\n" << p.text;

  const std::string json_path = path("summary.json");
  auto load = Process::start({hlsload_binary(), "--viewers", "500", "--duration", "20", "--threads", "1",
                              "--no-progress", "--fail-on-stall", "--fail-on-error", "--json", json_path,
                              fmt::format("http://127.0.0.1:{}/live/herd/index.m3u8", port_)},
                             tmp_);
  ASSERT_TRUE(load.started());
  auto code = load.wait(40s);
  ASSERT_TRUE(code.has_value()) << "hlsload did not finish in 40 s";
  const std::string json = read_file(json_path);
  EXPECT_EQ(*code, 0) << load.describe() << "\n" << load.out() << json;
  ASSERT_FALSE(json.empty()) << load.describe();
  SCOPED_TRACE(load.out());
  EXPECT_EQ(json_number(json, "stalls"), 0.0);
  EXPECT_EQ(json_number(json, "errors"), 0.0);
  EXPECT_EQ(json_number(json, "viewers_started"), 500.0);
  // Each viewer fetched its ~3 start segments and then one per second for ~20 s.
  const auto segments = json_number(json, "segments").value_or(0);
  EXPECT_GE(segments, 500.0 * 15) << json;
  EXPECT_LE(segments, 500.0 * 26) << json;
  // The playlist was reloaded about once a target duration (§6.3.4) — less often while
  // a herd's synchronized segment fetches take most of a second — and never hammered.
  const auto playlists = json_number(json, "playlists").value_or(0);
  EXPECT_GE(playlists, 500.0 * 8) << json;
  EXPECT_LE(playlists, 500.0 * 45) << json;
  EXPECT_GT(json_number(json, "bytes").value_or(0), 0);
  EXPECT_GT(json_number(json, "p99_ms", "segment_ttlb").value_or(0), 0);
  // The text summary on stdout says the same.
  EXPECT_NE(load.out().find("stalls 0 (0 viewers)"), std::string::npos) << load.out();
  EXPECT_NE(load.out().find("errors 0"), std::string::npos) << load.out();
  // And the daemon agrees: every request was answered 2xx.
  EXPECT_EQ(metric("hlscache_requests_total", "code=\"4xx\"").value_or(-1), 0);
  EXPECT_EQ(metric("hlscache_requests_total", "code=\"5xx\"").value_or(-1), 0);
}

TEST_F(HlsloadTest, AMissingStreamIsCountedAsErrorsAndFailsTheRunWhenAsked) {
  LOCAL_REQUIRE_FFMPEG();
  const std::string clip = make_clip(4);
  ASSERT_FALSE(clip.empty());
  ASSERT_NO_FATAL_FAILURE(start(local_yaml(fmt::format(
      "  - name: real\n    target_duration: 1s\n    source: {{file: {}, loop: true}}\n", clip))));
  const std::string json_path = path("summary.json");
  auto load = Process::start({hlsload_binary(), "--viewers", "5", "--duration", "2", "--no-progress",
                              "--fail-on-error", "--json", json_path,
                              fmt::format("http://127.0.0.1:{}/live/nosuch/index.m3u8", port_)},
                             tmp_);
  auto code = load.wait(20s);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 1) << load.describe();
  const std::string json = read_file(json_path);
  EXPECT_GT(json_number(json, "http_4xx", "errors_by_kind").value_or(0), 0) << json;
  EXPECT_EQ(json_number(json, "segments"), 0.0) << json;
  EXPECT_EQ(json_number(json, "viewers_started"), 0.0) << json;
  EXPECT_EQ(json_number(json, "stalls"), 0.0) << json;  // never playing is not stalling
}

TEST(HlsloadCli, RefusesNonLoopbackTargetsAndBadArguments) {
  // Refused before any connection is made: the address is checked after resolving.
  auto r = run_command({hlsload_binary(), "--viewers", "1", "--duration", "1", "http://10.1.2.3:8080/a.m3u8"}, 10s);
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("not a loopback address"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--allow-remote"), std::string::npos) << r.err;

  r = run_command({hlsload_binary(), "--viewers", "0", "http://127.0.0.1/a.m3u8"}, 10s);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--viewers"), std::string::npos) << r.err;
  r = run_command({hlsload_binary(), "https://127.0.0.1/a.m3u8"}, 10s);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("https"), std::string::npos) << r.err;
  r = run_command({hlsload_binary(), "--duration"}, 10s);
  EXPECT_EQ(r.exit_code, 2);
  r = run_command({hlsload_binary()}, 10s);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no URL"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace hlscache::test
