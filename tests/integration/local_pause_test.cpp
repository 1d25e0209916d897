// A live stream's publisher that pauses, drops and comes back (issue 15, items 3 and
// 4; segmenter/live_stream.hpp): a publisher silent within the stream's pause_grace
// keeps its connection and its stream (no ENDLIST, the playlist simply stops
// growing); one that goes away without ending leaves the stream live for the grace,
// and the next publisher continues it after an EXT-X-DISCONTINUITY with the media
// sequence still rising; ENDLIST only on a clean end or when the grace runs out. A
// publish refused or broken before its first segment never removes the previous
// session's ended window. The ffmpeg cases pause the real encoder with SIGSTOP for
// 12 s, as an operator saw it fail.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <csignal>
#include <random>
#include <thread>

#include "local_test_util.hpp"

namespace hlscache::test {
namespace {

class LocalPauseTest : public LocalTest {
 protected:
  // Waits until `path` lists two segments, stops `publisher` (SIGSTOP) for 12 s while
  // the playlist must never end, resumes it (SIGCONT) and gives the playlist once it
  // has grown two segments past the pause: live, numbering unbroken.
  // `run_first`: the run's first segment (listed before the pause).
  void stop_for_twelve_seconds(Process& publisher, const std::string& path, MediaPlaylist& after,
                               std::uint64_t& run_first);
};

// Every listed segment follows the one before it (the media sequence never skips or goes back).
void expect_consecutive(const MediaPlaylist& p) {
  for (std::size_t i = 1; i < p.entries.size(); ++i)
    EXPECT_EQ(p.entries[i].sequence, p.entries[i - 1].sequence + 1) << p.text;
}

// The breaks within one run: EXT-X-DISCONTINUITY tags, except the one on the run's
// first segment (every new window's first segment marks the break with the run before).
std::size_t discontinuities(const MediaPlaylist& p, std::uint64_t run_first) {
  std::size_t n = 0;
  for (const auto& e : p.entries) {
    if (e.sequence == run_first) EXPECT_TRUE(e.discontinuity) << "a run's first segment is tagged:\n" << p.text;
    else n += e.discontinuity ? 1 : 0;
  }
  return n;
}

void LocalPauseTest::stop_for_twelve_seconds(Process& publisher, const std::string& path, MediaPlaylist& after,
                                             std::uint64_t& run_first) {
  auto before = wait_playlist(path, [](const MediaPlaylist& p) { return p.entries.size() >= 2; }, 10s);
  ASSERT_TRUE(before.valid) << before.error << "\n" << publisher.describe();
  run_first = before.entries.front().sequence;
  publisher.signal(SIGSTOP);
  const auto stopped = LocalClock::now();
  std::uint64_t paused_next = 0;
  while (ms_since(stopped) < 12'000) {
    auto p = playlist(path);
    ASSERT_TRUE(p.valid) << p.error;
    ASSERT_FALSE(p.ended) << "ENDLIST " << ms_since(stopped) << " ms into the pause:\n" << p.text;
    paused_next = p.next_sequence();
    std::this_thread::sleep_for(500ms);
  }
  publisher.signal(SIGCONT);
  after = wait_playlist(path, [&](const MediaPlaylist& p) { return p.next_sequence() >= paused_next + 2; }, 15s);
  ASSERT_TRUE(after.valid && !after.ended) << after.error << "\n" << after.text << "\n" << daemon_.log();
  expect_consecutive(after);
}

// ffmpeg pushes at real-time pace; SIGSTOP for 12 s (longer than the old 10 s
// ingest_idle); SIGCONT. Default pause_grace (ten 2 s target durations).
TEST_F(LocalPauseTest, AnFfmpegPushStoppedForTwelveSecondsGoesOnWithoutEndlist) {
  LOCAL_REQUIRE_FFMPEG();
  const std::string clip = make_clip(40);
  ASSERT_FALSE(clip.empty());
  ASSERT_NO_FATAL_FAILURE(start(local_yaml("  - name: p\n    target_duration: 2s\n    source: {ingest: true}\n")));
  auto push = Process::start({"ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-re", "-i", clip, "-c", "copy",
                              "-f", "mpegts", "-method", "PUT", fmt::format("http://127.0.0.1:{}/ingest/p", port_)},
                             tmp_);
  // The same connection goes on: the playlist grows again, never ended, numbering unbroken.
  MediaPlaylist after;
  std::uint64_t run_first = 0;
  ASSERT_NO_FATAL_FAILURE(stop_for_twelve_seconds(push, "/live/p/index.m3u8", after, run_first));
  for (const auto& e : after.entries) EXPECT_EQ(get("/live/p/" + e.uri).status, 200) << e.uri;
  EXPECT_FALSE(push.wait(0ms).has_value()) << "the publisher lost its connection: " << push.describe();
  EXPECT_EQ(metric("hlscache_segmenter_publishing", "stream=\"p\",rendition=\"main\"").value_or(-1), 1);
}

// ffmpeg sends UDP; SIGSTOP 12 s, beyond timeouts.ingest_idle (10 s): the session
// pauses, the datagrams that come back continue the same stream after a discontinuity.
TEST_F(LocalPauseTest, AUdpSenderStoppedForTwelveSecondsContinuesTheStreamAfterADiscontinuity) {
  LOCAL_REQUIRE_FFMPEG();
  const std::string clip = make_clip(40);
  ASSERT_FALSE(clip.empty());
  const std::uint16_t udp = free_udp_port();
  ASSERT_NE(udp, 0);
  ASSERT_NO_FATAL_FAILURE(start(local_yaml(
      fmt::format("  - name: u\n    target_duration: 2s\n    source: {{udp: 127.0.0.1:{}}}\n", udp))));
  auto sender = Process::start({"ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-re", "-i", clip, "-c", "copy",
                                "-f", "mpegts", fmt::format("udp://127.0.0.1:{}?pkt_size=1316", udp)},
                               tmp_);
  MediaPlaylist after;
  std::uint64_t run_first = 0;
  ASSERT_NO_FATAL_FAILURE(stop_for_twelve_seconds(sender, "/live/u/index.m3u8", after, run_first));
  EXPECT_EQ(discontinuities(after, run_first), 1u) << "the session paused at ingest_idle and resumed:\n" << after.text;
  for (const auto& e : after.entries) EXPECT_EQ(get("/live/u/" + e.uri).status, 200) << e.uri;
  sender.kill();
}

TEST_F(LocalPauseTest, ADroppedPushIsContinuedByTheNextOneAfterADiscontinuity) {
  LOCAL_REQUIRE_FFMPEG();
  const std::string clip = make_clip(4);
  ASSERT_FALSE(clip.empty());
  const std::string ts = read_file(clip);
  const std::size_t half = ts.size() / 2 / 188 * 188;
  ASSERT_NO_FATAL_FAILURE(start(
      local_yaml("  - name: d\n    target_duration: 1s\n    pause_grace: 4s\n    source: {ingest: true}\n")));
  std::uint64_t next = 0, run_first = 0;
  {
    Pusher first(port_, "/ingest/d");
    ASSERT_TRUE(first.send(std::string_view(ts).substr(0, half)));
    auto live = wait_playlist("/live/d/index.m3u8", [](const MediaPlaylist& p) { return !p.entries.empty(); }, 4s);
    ASSERT_TRUE(live.valid) << live.error;
    run_first = live.entries.front().sequence;
    first.connection().close();  // gone without the last chunk
  }
  std::this_thread::sleep_for(1500ms);
  auto paused = playlist("/live/d/index.m3u8");
  ASSERT_TRUE(paused.valid) << paused.error;
  EXPECT_FALSE(paused.ended) << "a dropped publisher ended the stream at once:\n" << paused.text;
  EXPECT_EQ(metric("hlscache_segmenter_publishing", "stream=\"d\",rendition=\"main\"").value_or(-1), 0);
  next = paused.next_sequence();

  auto r = push_body(port_, "/ingest/d", ts);
  ASSERT_EQ(r.status, 200) << r.describe();
  auto p = wait_playlist("/live/d/index.m3u8", [](const MediaPlaylist& pl) { return pl.ended; }, 5s);
  ASSERT_TRUE(p.valid && p.ended) << p.error << "\n" << p.text;
  expect_consecutive(p);
  EXPECT_EQ(discontinuities(p, run_first), 1u) << p.text;
  bool resumed_at_next = false;
  for (const auto& e : p.entries) resumed_at_next |= e.discontinuity && e.sequence == next;
  EXPECT_TRUE(resumed_at_next) << "the second push continues at " << next << " after a discontinuity:\n" << p.text;
  EXPECT_LT(p.entries.front().sequence, next) << "the first push's segments are still listed:\n" << p.text;
}

TEST_F(LocalPauseTest, ADroppedPushNotComeBackEndsWhenTheGraceRunsOut) {
  LOCAL_REQUIRE_FFMPEG();
  const std::string clip = make_clip(4);
  ASSERT_FALSE(clip.empty());
  const std::string ts = read_file(clip);
  ASSERT_NO_FATAL_FAILURE(start(
      local_yaml("  - name: g\n    target_duration: 1s\n    pause_grace: 2s\n    source: {ingest: true}\n")));
  Pusher first(port_, "/ingest/g");
  ASSERT_TRUE(first.send(std::string_view(ts).substr(0, ts.size() / 2 / 188 * 188)));
  auto live = wait_playlist("/live/g/index.m3u8", [](const MediaPlaylist& p) { return !p.entries.empty(); }, 4s);
  ASSERT_TRUE(live.valid) << live.error;
  first.connection().close();
  const auto dropped = LocalClock::now();
  std::this_thread::sleep_for(1000ms);
  EXPECT_FALSE(playlist("/live/g/index.m3u8").ended) << "ended before the grace ran out";
  auto p = wait_playlist("/live/g/index.m3u8", [](const MediaPlaylist& pl) { return pl.ended; }, 6s);
  ASSERT_TRUE(p.valid && p.ended) << p.error << "\n" << p.text << "\n" << daemon_.log();
  EXPECT_GE(ms_since(dropped), 1500);
  EXPECT_LE(ms_since(dropped), 5500);
}

TEST_F(LocalPauseTest, APushSilentWithinTheGraceKeepsItsConnectionAndSilentBeyondItEnds) {
  LOCAL_REQUIRE_FFMPEG();
  const std::string clip = make_clip(4);
  ASSERT_FALSE(clip.empty());
  const std::string ts = read_file(clip);
  const std::size_t half = ts.size() / 2 / 188 * 188;
  ASSERT_NO_FATAL_FAILURE(start(
      local_yaml("  - name: s\n    target_duration: 1s\n    pause_grace: 3s\n    source: {ingest: true}\n",
                 "ingest_idle: 1s")));
  {
    Pusher slow(port_, "/ingest/s");
    ASSERT_TRUE(slow.send(std::string_view(ts).substr(0, half)));
    std::this_thread::sleep_for(2000ms);  // beyond ingest_idle, within pause_grace
    EXPECT_FALSE(playlist("/live/s/index.m3u8").ended);
    ASSERT_TRUE(slow.send(std::string_view(ts).substr(half))) << "the connection was closed under a slow publisher";
    auto r = slow.finish();
    ASSERT_EQ(r.status, 200) << r.describe();
    auto p = wait_playlist("/live/s/index.m3u8", [](const MediaPlaylist& pl) { return pl.ended; }, 4s);
    ASSERT_TRUE(p.valid && p.ended) << p.error << "\n" << p.text;
    EXPECT_EQ(discontinuities(p, p.entries.front().sequence), 0u) << p.text;
    expect_consecutive(p);
  }
  {
    Pusher silent(port_, "/ingest/s");
    ASSERT_TRUE(silent.send(std::string_view(ts).substr(0, half)));
    const auto t0 = LocalClock::now();
    auto r = silent.read_response(8s);
    if (r.ok()) {
      EXPECT_EQ(r.status, 408) << r.describe();
    }
    EXPECT_GE(ms_since(t0), 2500) << "closed before pause_grace";
    auto p = wait_playlist("/live/s/index.m3u8", [](const MediaPlaylist& pl) { return pl.ended; }, 4s);
    ASSERT_TRUE(p.valid && p.ended) << p.error << "\n" << p.text;
  }
}

// Item 4: a refused or broken publish after an ended one leaves the ended window served.
TEST_F(LocalPauseTest, ARefusedOrBrokenPublishNeverRemovesTheEndedStream) {
  LOCAL_REQUIRE_FFMPEG();
  const std::string clip = make_clip(4);
  ASSERT_FALSE(clip.empty());
  const std::string ts = read_file(clip);
  ASSERT_NO_FATAL_FAILURE(start(local_yaml("  - name: v\n    target_duration: 1s\n    source: {ingest: true}\n")));
  ASSERT_EQ(push_body(port_, "/ingest/v", ts).status, 200);
  auto ended = wait_playlist("/live/v/index.m3u8", [](const MediaPlaylist& p) { return p.ended; }, 4s);
  ASSERT_TRUE(ended.valid && ended.ended && !ended.entries.empty()) << ended.error << "\n" << ended.text;

  auto still_there = [&](const char* after) {
    auto p = playlist("/live/v/index.m3u8");
    ASSERT_TRUE(p.valid) << after << ": " << p.error;
    EXPECT_EQ(p.text, ended.text) << after;
    for (const auto& e : p.entries) EXPECT_EQ(get("/live/v/" + e.uri).status, 200) << after << ": " << e.uri;
  };
  // Garbage: refused (400) after its first MiB without a TS packet.
  std::string garbage(1536 * 1024, '\0');
  std::mt19937 rng(7);
  for (auto& c : garbage) c = static_cast<char>(rng() % 0x46 + 1);  // never 0x47, the TS sync byte
  auto refused = push_body(port_, "/ingest/v", garbage);
  EXPECT_EQ(refused.status, 400) << refused.describe();
  ASSERT_NO_FATAL_FAILURE(still_there("a refused publish"));
  // Broken: a few packets of TS, then the connection drops before a segment is cut.
  {
    Pusher broken(port_, "/ingest/v");
    ASSERT_TRUE(broken.send(std::string_view(ts).substr(0, 188 * 40)));
    std::this_thread::sleep_for(300ms);
    ASSERT_NO_FATAL_FAILURE(still_there("a publish in progress without a segment"));
    broken.connection().close();
  }
  std::this_thread::sleep_for(500ms);
  ASSERT_NO_FATAL_FAILURE(still_there("a broken publish"));
  // A good publish replaces it, numbering above the ended one.
  ASSERT_EQ(push_body(port_, "/ingest/v", ts).status, 200);
  auto next = wait_playlist(
      "/live/v/index.m3u8",
      [&](const MediaPlaylist& p) { return p.ended && p.entries.front().sequence >= ended.next_sequence(); }, 5s);
  EXPECT_TRUE(next.valid && next.ended) << next.error << "\n" << next.text;
}

}  // namespace
}  // namespace hlscache::test
