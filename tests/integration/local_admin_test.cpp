// /admin/streams and the segmenter metrics in role local: a looped file stream is
// listed with its media sequence, measured bit rate, renditions and viewers
// (distinct client addresses that fetched one of its playlists within 2 x target
// duration); ingest bytes and segments cut are counted.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <regex>
#include <thread>

#include "local_test_util.hpp"

namespace hlscache::test {
namespace {

using LocalAdminTest = LocalTest;

TEST_F(LocalAdminTest, StreamsListsMediaSequenceBitrateAndViewers) {
  LOCAL_REQUIRE_FFMPEG();
  const std::string clip = make_clip(3);
  ASSERT_FALSE(clip.empty());
  const std::string token = "local-admin-token-0123456789";
  ASSERT_NO_FATAL_FAILURE(start(
      local_yaml(fmt::format("  - name: adm\n    target_duration: 1s\n    source: {{file: {}, loop: true}}\n", clip)) +
      "admin: {token: " + token + "}\n"));
  const std::vector<std::pair<std::string, std::string>> auth = {{"Authorization", "Bearer " + token}};

  auto none = ::hlscache::test::get(port_, "/admin/streams", auth, 5s);
  ASSERT_EQ(none.status, 200) << none.describe();
  EXPECT_NE(none.body.find(R"("name":"adm","viewers":0)"), std::string::npos) << none.body;

  // Two segments, so the window has a measured bit rate; one viewer (this test, 127.0.0.1).
  auto p = wait_playlist("/live/adm/index.m3u8", [](const MediaPlaylist& pl) { return pl.entries.size() >= 2; }, 6s);
  ASSERT_TRUE(p.valid) << p.error;
  auto r = ::hlscache::test::get(port_, "/admin/streams", auth, 5s);
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.header("Content-Type").value_or(""), "application/json");
  EXPECT_NE(r.body.find(R"("name":"adm","viewers":1,"viewers_saturated":false,"viewers_window_seconds":2)"),
            std::string::npos)
      << r.body;
  static const std::regex rendition(
      R"re("name":"main","publishing":true,"ended":false,"media_sequence":(\d+),"next_sequence":(\d+),"segments":(\d+),"target_duration":1,"bandwidth":(\d+),"average_bandwidth":(\d+),"segments_cut_total":(\d+))re");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.body, m, rendition)) << r.body;
  EXPECT_GE(std::stoull(m[3]), 2u);                          // segments in the window
  EXPECT_EQ(std::stoull(m[2]), std::stoull(m[1]) + std::stoull(m[3]));  // next = first + count
  EXPECT_GT(std::stoull(m[4]), 10'000u);                     // bits/s of a 320x180 H.264 clip
  EXPECT_GE(std::stoull(m[6]), 2u);

  EXPECT_GT(metric("hlscache_segmenter_ingest_bytes_total", "stream=\"adm\",rendition=\"main\"").value_or(0), 10'000);
  EXPECT_GE(metric("hlscache_segmenter_segments_cut_total", "stream=\"adm\",rendition=\"main\"").value_or(0), 2);
  EXPECT_EQ(metric("hlscache_segmenter_ingest_errors_total", "stream=\"adm\",rendition=\"main\"").value_or(-1), 0);
  EXPECT_EQ(metric("hlscache_segmenter_viewers", "stream=\"adm\"").value_or(-1), 1);
  EXPECT_EQ(metric("hlscache_segmenter_streams").value_or(-1), 1);

  // The viewer stops reloading: after 2 x target duration it no longer counts.
  std::this_thread::sleep_for(std::chrono::milliseconds(2300));
  EXPECT_NE(::hlscache::test::get(port_, "/admin/streams", auth, 5s).body.find(R"("name":"adm","viewers":0)"), std::string::npos);

  // A viewer whose playlist request is a fresh hit (answered on the session's fast
  // path, answer_now) counts too: 127.0.0.1 fetches the playlist, 127.0.0.2 hits it.
  auto first = ::hlscache::test::get(port_, "/live/adm/index.m3u8", {}, 5s);
  ASSERT_EQ(first.status, 200) << first.describe();
  Connection other = Connection::open(port_, 2s, "127.0.0.2");
  ASSERT_TRUE(other.connected()) << other.error();
  auto hit = other.roundtrip(make_request("GET", "/live/adm/index.m3u8"), 5s);
  ASSERT_EQ(hit.status, 200) << hit.describe();
  EXPECT_EQ(hit.header("X-Cache").value_or(""), "HIT") << "the second request came too late to be a hit";
  auto two = ::hlscache::test::get(port_, "/admin/streams", auth, 5s);
  EXPECT_NE(two.body.find(R"("name":"adm","viewers":2)"), std::string::npos) << two.body;
}

}  // namespace
}  // namespace hlscache::test
