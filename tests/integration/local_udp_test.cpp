// Role local with a UDP source: ffmpeg sends MPEG-TS datagrams (7 packets each, as
// broadcast encoders do) at real-time pace; the daemon segments them live; silent for
// timeouts.ingest_idle the session pauses, and when the stream's pause_grace has run
// out since the last datagram the playlist gets ENDLIST (pauses that end within the
// grace: local_pause_test.cpp).
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <thread>

#include "local_test_util.hpp"

namespace hlscache::test {
namespace {

using LocalUdpTest = LocalTest;

TEST_F(LocalUdpTest, DatagramsAreSegmentedLiveAndSilenceEndsTheStream) {
  LOCAL_REQUIRE_FFMPEG();
  constexpr double kSeconds = 4;
  const std::string clip = make_clip(kSeconds);
  ASSERT_FALSE(clip.empty());
  const std::uint16_t udp = free_udp_port();
  ASSERT_NE(udp, 0);
  ASSERT_NO_FATAL_FAILURE(start(local_yaml(fmt::format("  - name: udp\n"
                                                       "    target_duration: 1s\n"
                                                       "    pause_grace: 2s\n"
                                                       "    source: {{udp: 127.0.0.1:{}}}\n",
                                                       udp),
                                           "ingest_idle: 1s")));
  // Nothing is live before the first datagram.
  EXPECT_EQ(metric("hlscache_segmenter_publishing", "stream=\"udp\",rendition=\"main\"").value_or(-1), 0);

  auto sender = Process::start({"ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-re", "-i", clip, "-c", "copy",
                                "-f", "mpegts", fmt::format("udp://127.0.0.1:{}?pkt_size=1316", udp)},
                               tmp_);
  // Segments appear while it sends.
  auto live = wait_playlist("/live/udp/index.m3u8", [](const MediaPlaylist& p) { return p.entries.size() >= 2; }, 6s);
  ASSERT_TRUE(live.valid && live.entries.size() >= 2) << live.error << "\n" << sender.describe();
  EXPECT_FALSE(live.ended);
  EXPECT_FALSE(sender.wait(0ms).has_value()) << "segments should appear while ffmpeg still sends";
  for (const auto& e : live.entries) {
    auto s = get("/live/udp/" + e.uri);
    EXPECT_EQ(s.status, 200) << e.uri << ": " << s.describe();
    EXPECT_TRUE(!s.body.empty() && static_cast<unsigned char>(s.body[0]) == 0x47) << e.uri;
    EXPECT_NEAR(e.duration, 1.0, 0.05) << e.uri;
  }

  auto code = sender.wait(15s);
  ASSERT_TRUE(code.has_value()) << sender.describe();
  ASSERT_EQ(*code, 0) << sender.describe();
  const auto stopped = LocalClock::now();
  // Just after the sender stops, the stream is still live; pause_grace (2 s) after its
  // last datagram it ends (the session pauses at ingest_idle, 1 s).
  auto p = playlist("/live/udp/index.m3u8");
  EXPECT_TRUE(p.valid && !p.ended) << p.error << "\n" << p.text;
  p = wait_playlist("/live/udp/index.m3u8", [](const MediaPlaylist& pl) { return pl.ended; }, 5s);
  ASSERT_TRUE(p.valid && p.ended) << p.error << "\n" << p.text << "\ndaemon log:\n" << daemon_.log();
  EXPECT_GE(ms_since(stopped), 1500) << "ended before pause_grace passed";
  EXPECT_LE(ms_since(stopped), 4500);
  double total = 0;
  for (const auto& e : p.entries) {
    total += e.duration;
    EXPECT_LE(rounded(e.extinf), p.target_duration);
  }
  EXPECT_GE(p.entries.size(), 3u) << p.text;
  if (p.entries.front().sequence == 0) {
    EXPECT_NEAR(total, kSeconds, 0.1) << "no datagram lost on loopback\n" << p.text;
  }
  EXPECT_EQ(metric("hlscache_segmenter_publishing", "stream=\"udp\",rendition=\"main\"").value_or(-1), 0);
  EXPECT_NE(daemon_.log().find("udp source silent"), std::string::npos);
}

}  // namespace
}  // namespace hlscache::test
