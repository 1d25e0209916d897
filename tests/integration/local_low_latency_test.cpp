// The local role's Low-Latency HLS (streams[].container: cmaf): the playlist's LL tags
// and parts; a blocking reload held until its part exists and answered then; the
// preload-hinted part held until it is cut; a reload too far ahead or malformed is a
// 400, one whose part does not come within three target durations a 503; the delta
// update is the full playlist less the skipped segments; ffmpeg decodes the init
// segment and the segments, and plays the playlist, without an error.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <regex>
#include <sstream>

#include "integration/local_test_util.hpp"

namespace hlscache::test {
namespace {

using namespace std::chrono_literals;
using LocalLowLatencyTest = LocalTest;

std::string cmaf_stream(const std::string& name, const std::string& source) {
  return fmt::format(
      "  - name: {}\n    target_duration: 1s\n    window: 12\n    container: cmaf\n    part_target: 330ms\n"
      "    source: {}\n",
      name, source);
}

// The EXT-X-PART URIs and durations, the preload hint's URI, the EXT-X-MAP URIs.
struct LowLatencyText {
  std::vector<std::pair<std::string, double>> parts;
  std::vector<std::string> hints, maps;
};

LowLatencyText low_latency_text(const std::string& text) {
  LowLatencyText t;
  static const std::regex part(R"re(#EXT-X-PART:DURATION=([0-9.]+),URI="([^"]+)")re");
  static const std::regex hint(R"re(#EXT-X-PRELOAD-HINT:TYPE=PART,URI="([^"]+)")re");
  static const std::regex map(R"re(#EXT-X-MAP:URI="([^"]+)")re");
  std::smatch m;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    if (std::regex_search(l, m, part)) t.parts.emplace_back(m[2], std::stod(m[1]));
    else if (std::regex_search(l, m, hint)) t.hints.push_back(m[1]);
    else if (std::regex_search(l, m, map)) t.maps.push_back(m[1]);
  }
  return t;
}

// "part_<session>_<msn>.<index>.m4s" -> {msn, index}.
std::pair<std::uint64_t, std::uint64_t> part_position(const std::string& uri) {
  static const std::regex re(R"re(part_[0-9a-f]+_([0-9]+)\.([0-9]+)\.m4s)re");
  std::smatch m;
  if (!std::regex_match(uri, m, re)) return {0, 0};
  return {std::stoull(m[1]), std::stoull(m[2])};
}

TEST_F(LocalLowLatencyTest, PartsBlockingReloadsPreloadHintsAndDeltaUpdates) {
  LOCAL_REQUIRE_FFMPEG();
  const std::string clip = make_clip(4);
  ASSERT_FALSE(clip.empty());
  ASSERT_NO_FATAL_FAILURE(start(local_yaml(cmaf_stream("ll", fmt::format("{{file: {}, loop: true}}", clip)) +
                                           cmaf_stream("stall", "{ingest: true}"))));
  // Eight whole segments: more than CAN-SKIP-UNTIL (6 s) of media.
  auto p = wait_playlist("/live/ll/index.m3u8", [](const MediaPlaylist& m) { return m.entries.size() >= 8; }, 15s);
  ASSERT_GE(p.entries.size(), 8u) << p.error << "\n" << p.text;
  EXPECT_NE(p.text.find("#EXT-X-VERSION:9\n"), std::string::npos) << p.text;
  EXPECT_NE(p.text.find("#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.990,CAN-SKIP-UNTIL=6.000\n"),
            std::string::npos)
      << p.text;
  EXPECT_NE(p.text.find("#EXT-X-PART-INF:PART-TARGET=0.330\n"), std::string::npos) << p.text;
  auto ll = low_latency_text(p.text);
  ASSERT_EQ(ll.hints.size(), 1u) << p.text;
  ASSERT_EQ(ll.maps.size(), 1u) << p.text;
  ASSERT_GE(ll.parts.size(), 9u) << "parts of the last three target durations\n" << p.text;
  for (const auto& [uri, duration] : ll.parts) EXPECT_LE(duration, 0.330) << uri;
  for (const auto& e : p.entries) EXPECT_TRUE(e.uri.ends_with(".m4s")) << e.uri;

  // ffmpeg decodes the init segment and two whole segments, and the playlist itself.
  std::string media = get("/live/ll/" + ll.maps.front()).body;
  for (std::size_t i = 0; i < 2; ++i) {
    auto seg = get("/live/ll/" + p.entries[i].uri);
    ASSERT_EQ(seg.status, 200) << seg.describe();
    EXPECT_EQ(seg.header("Content-Type").value_or(""), "video/mp4");
    media += seg.body;
  }
  write_file(path("two.mp4"), media);
  EXPECT_EQ(ffmpeg_decode_errors(path("two.mp4")), "");
  auto played = run_command({"ffmpeg", "-nostdin", "-v", "error", "-i", fmt::format("http://127.0.0.1:{}/live/ll/index.m3u8", port_),
                             "-t", "3", "-f", "null", "-"},
                            30s);
  EXPECT_EQ(played.exit_code, 0) << played.err;
  EXPECT_EQ(played.err, "");

  // A blocking reload for the hinted part: held until the part exists, then answered.
  const auto [msn, part] = part_position(ll.hints.front());
  ASSERT_NE(msn, 0u) << ll.hints.front();
  auto t = LocalClock::now();
  auto blocked = get(fmt::format("/live/ll/index.m3u8?_HLS_msn={}&_HLS_part={}", msn, part));
  const double held_ms = ms_since(t);
  ASSERT_EQ(blocked.status, 200) << blocked.describe();
  EXPECT_LE(held_ms, 1000) << "a part comes every 330 ms at most";
  const auto after = low_latency_text(blocked.body);
  EXPECT_TRUE(std::any_of(after.parts.begin(), after.parts.end(),
                          [&](const auto& x) { return part_position(x.first) == std::pair{msn, part}; }) ||
              blocked.body.find(fmt::format("_{}.m4s\n", msn)) != std::string::npos)
      << "the answer holds the part asked for\n" << blocked.body;

  // The part the new preload hint names: held until it is cut, then its bytes.
  ASSERT_EQ(after.hints.size(), 1u) << blocked.body;
  t = LocalClock::now();
  auto hinted = get("/live/ll/" + after.hints.front());
  ASSERT_EQ(hinted.status, 200) << hinted.describe();
  EXPECT_LE(ms_since(t), 1000);
  EXPECT_EQ(hinted.header("Content-Type").value_or(""), "video/mp4");
  ASSERT_GE(hinted.body.size(), 8u);
  const std::string box = hinted.body.substr(4, 4);
  EXPECT_TRUE(box == "moof" || box == "styp") << box;

  // Too far ahead, or malformed: 400 at once.
  auto last = parse_media_playlist(blocked.body);
  for (const std::string& target :
       {fmt::format("/live/ll/index.m3u8?_HLS_msn={}", last.next_sequence() + 3),
        std::string("/live/ll/index.m3u8?_HLS_part=1"), std::string("/live/ll/index.m3u8?_HLS_msn=x"),
        std::string("/live/ll/index.m3u8?_HLS_msn=1&_HLS_skip=maybe")}) {
    t = LocalClock::now();
    EXPECT_EQ(get(target).status, 400) << target;
    EXPECT_LT(ms_since(t), 500) << target;
  }

  // The delta update: the same playlist with its oldest segments replaced by EXT-X-SKIP.
  const std::string at = fmt::format("_HLS_msn={}&_HLS_part={}", msn, part);
  auto full = get("/live/ll/index.m3u8?" + at);
  auto delta = get("/live/ll/index.m3u8?" + at + "&_HLS_skip=YES");
  ASSERT_EQ(full.status, 200);
  ASSERT_EQ(delta.status, 200);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(delta.body, m, std::regex("#EXT-X-SKIP:SKIPPED-SEGMENTS=([0-9]+)\n"))) << delta.body;
  const std::size_t skipped = std::stoul(m[1]);
  const auto f = parse_media_playlist(full.body), d = parse_media_playlist(delta.body);
  ASSERT_TRUE(f.valid && d.valid) << f.error << d.error;
  EXPECT_EQ(d.media_sequence, f.media_sequence);
  ASSERT_GE(d.entries.size(), 1u);
  EXPECT_EQ(d.entries.front().sequence, d.media_sequence + skipped) << delta.body;
  // Every segment the delta lists is the full playlist's under the same name (the
  // newer of the two answers may hold one more segment).
  for (const auto& e : d.entries) {
    if (e.sequence >= f.next_sequence()) continue;
    EXPECT_EQ(f.entries.at(e.sequence - f.media_sequence).uri, e.uri);
  }
  double skipped_media = 0;
  for (const auto& e : f.entries) skipped_media += e.sequence < d.entries.front().sequence ? 0 : e.duration;
  EXPECT_GE(skipped_media, 6.0) << "what is not skipped covers CAN-SKIP-UNTIL\n" << delta.body;

  // A part that does not come (the publisher stalls): the reload is held three target
  // durations, then 503 with Retry-After.
  const std::string ts = read_file(clip);
  Pusher pusher(port_, "/ingest/stall");
  ASSERT_TRUE(pusher.send(std::string_view(ts).substr(0, ts.size() * 6 / 10 / 188 * 188)));
  auto sp = wait_playlist("/live/stall/index.m3u8", [](const MediaPlaylist& x) { return x.entries.size() >= 1; }, 5s);
  ASSERT_TRUE(sp.valid) << sp.error;
  const auto stalled = low_latency_text(sp.text);
  ASSERT_EQ(stalled.hints.size(), 1u) << sp.text;
  const auto [smsn, spart] = part_position(stalled.hints.front());
  std::this_thread::sleep_for(700ms);  // what was sent is cut by now
  t = LocalClock::now();
  auto unavailable = get(fmt::format("/live/stall/index.m3u8?_HLS_msn={}&_HLS_part={}", smsn + 1, spart));
  const double waited = ms_since(t);
  EXPECT_EQ(unavailable.status, 503) << unavailable.describe();
  EXPECT_TRUE(unavailable.header("Retry-After").has_value());
  EXPECT_GE(waited, 2800);
  EXPECT_LE(waited, 4000);
}

// Several renditions: each media playlist reports where the others stand
// (EXT-X-RENDITION-REPORT), at their last part.
TEST_F(LocalLowLatencyTest, EachRenditionReportsItsSiblings) {
  LOCAL_REQUIRE_FFMPEG();
  const std::string clip = make_clip(4);
  ASSERT_FALSE(clip.empty());
  ASSERT_NO_FATAL_FAILURE(start(local_yaml(fmt::format(
      "  - name: abr\n    target_duration: 1s\n    container: cmaf\n    part_target: 330ms\n    renditions:\n"
      "      - {{name: hi, source: {{file: {0}, loop: true}}}}\n      - {{name: lo, source: {{file: {0}, loop: true}}}}\n",
      clip))));
  auto hi = wait_playlist("/live/abr/hi/index.m3u8", [](const MediaPlaylist& m) { return m.entries.size() >= 2; }, 10s);
  ASSERT_TRUE(hi.valid) << hi.error;
  auto lo = playlist("/live/abr/lo/index.m3u8");
  ASSERT_TRUE(lo.valid) << lo.error;
  std::smatch m;
  const std::regex report(R"re(#EXT-X-RENDITION-REPORT:URI="\.\./([a-z]+)/index\.m3u8",LAST-MSN=([0-9]+),LAST-PART=([0-9]+)\n)re");
  ASSERT_TRUE(std::regex_search(hi.text, m, report)) << hi.text;
  EXPECT_EQ(m[1], "lo");
  // Where lo stood when hi's playlist was made: within a segment of what lo lists now.
  const std::uint64_t last_msn = std::stoull(m[2]);
  EXPECT_LE(last_msn, lo.next_sequence() + 1) << hi.text << "\n" << lo.text;
  EXPECT_GE(last_msn + 2, lo.next_sequence()) << hi.text << "\n" << lo.text;
  EXPECT_EQ(hi.text.find("URI=\"../hi/index.m3u8\""), std::string::npos) << "not itself";
  ASSERT_TRUE(std::regex_search(lo.text, m, report)) << lo.text;
  EXPECT_EQ(m[1], "hi");
}

}  // namespace
}  // namespace hlscache::test
