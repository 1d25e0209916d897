// HTTP push with ffmpeg as the real encoder-side client (`-f mpegts -method PUT`),
// against the daemon in role local: segments are cut on keyframes, EXTINF is the
// media's own duration (ffprobe agrees), the ended playlist is RFC 8216-consistent,
// and ffmpeg's HLS demuxer reads the live stream to its ENDLIST. And a push timed by
// the test, one GOP a second: PROGRAM-DATE-TIME is the wall-clock time a segment's
// first frame was sent, within 50 ms — chained by EXTINF from the first segment,
// a late delivery not published, restarted when a GOP comes early or a whole target
// duration late.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cmath>
#include <thread>

#include "local_test_util.hpp"

namespace hlscache::test {
namespace {

using LocalPushTest = LocalTest;

std::vector<std::string> ffmpeg_push(const std::string& clip, std::uint16_t port, const std::string& target) {
  return {"ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-re", "-i", clip, "-c", "copy", "-f", "mpegts",
          "-method", "PUT", fmt::format("http://127.0.0.1:{}{}", port, target)};
}

TEST_F(LocalPushTest, FfmpegPushIsCutOnKeyframesWithExtinfMatchingTheMedia) {
  LOCAL_REQUIRE_FFMPEG();
  constexpr double kSeconds = 20;  // the 20 s stream
  const std::string clip = make_clip(kSeconds);
  ASSERT_FALSE(clip.empty());
  ASSERT_NO_FATAL_FAILURE(start(local_yaml("  - name: test\n"
                                           "    target_duration: 1s\n"
                                           "    source: {ingest: true, key: K}\n")));

  auto push = Process::start(ffmpeg_push(clip, port_, "/ingest/test?key=K"), tmp_);
  SegmentCollector collector(port_, "/live/test/index.m3u8");
  // While it pushes (at real-time pace: ~20 s), fetch every segment while it is listed.
  const auto t0 = LocalClock::now();
  std::optional<int> code;
  while (!(code = push.wait(std::chrono::milliseconds(150)))) {
    collector.poll();
    ASSERT_LT(ms_since(t0), 45'000) << "the push did not end in time: " << push.describe();
  }
  ASSERT_EQ(*code, 0) << push.describe() << "\ndaemon log:\n" << daemon_.log();
  EXPECT_GT(ms_since(t0), kSeconds * 1000 * 0.8) << "ffmpeg -re should have taken about the clip's duration";

  // After the push: the playlist ends (the cache may hold the live one for 0.5 x target).
  auto last = wait_playlist("/live/test/index.m3u8", [](const MediaPlaylist& p) { return p.ended; }, 5s);
  ASSERT_TRUE(last.valid && last.ended) << last.error << "\n" << last.text;
  collector.poll();
  for (const auto& f : collector.failures())
    if (f.find("listed") != std::string::npos) ADD_FAILURE() << f;

  const auto& segs = collector.segments();
  ASSERT_GE(segs.size(), 9u) << "a 10 s push at target 1 s should give ~10 segments";
  // A new window numbers from the clock in half target durations (sequence_floor).
  const auto unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_GE(segs.begin()->first, static_cast<std::uint64_t>((unix_ms - 120'000) / 500)) << "numbering starts at the clock";
  EXPECT_LE(segs.begin()->first, static_cast<std::uint64_t>(unix_ms / 500));
  EXPECT_EQ(segs.rbegin()->first - segs.begin()->first + 1, segs.size()) << "a sequence number is missing";
  EXPECT_EQ(last.entries.back().sequence, segs.rbegin()->first) << "the last segment is the last listed";

  // Every playlist ever served: TARGETDURATION >= every rounded EXTINF, PDT on every segment.
  for (const auto& p : collector.playlists()) {
    for (const auto& e : p.entries) {
      EXPECT_LE(rounded(e.extinf), p.target_duration) << "seg " << e.sequence << " EXTINF " << e.extinf << "\n" << p.text;
      EXPECT_TRUE(e.pdt_ms.has_value()) << "seg " << e.sequence << " has no PROGRAM-DATE-TIME\n" << p.text;
    }
  }
  EXPECT_EQ(last.target_duration, 1) << last.text;
  EXPECT_TRUE(last.independent) << "every segment starts with a keyframe:\n" << last.text;
  // PDT advances by the EXTINF (no discontinuity in a single push). ffmpeg's HTTP output
  // flushes every 32 KiB, so a keyframe may reach us a few hundred ms late: that is not
  // published. Where the first segments came later than those after them, the chain
  // restarts earlier (docs/segmenter.md); it never jumps forward.
  for (std::size_t i = 1; i < last.entries.size(); ++i) {
    const auto& a = last.entries[i - 1];
    const auto& b = last.entries[i];
    ASSERT_TRUE(a.pdt_ms && b.pdt_ms);
    EXPECT_FALSE(b.discontinuity);
    const double step = static_cast<double>(*b.pdt_ms - *a.pdt_ms) - a.duration * 1000;
    EXPECT_LE(step, 2.0) << "PDT of seg " << b.sequence << " jumped forward";
    EXPECT_GE(step, -400.0) << "PDT of seg " << b.sequence;
  }

  // Each segment on its own: TS, starts with a keyframe, EXTINF = decoded duration.
  double total = 0;
  for (const auto& [seq, s] : segs) {
    SCOPED_TRACE("seg_" + std::to_string(seq) + ".ts");
    ASSERT_FALSE(s.body.empty());
    EXPECT_EQ(static_cast<unsigned char>(s.body[0]), 0x47);
    EXPECT_EQ(s.body.size() % 188, 0u);
    const std::string file = path(fmt::format("seg_{}.ts", seq));
    write_file(file, s.body);
    auto v = probe_video(file);
    ASSERT_TRUE(v.ok) << v.error;
    EXPECT_TRUE(v.first_is_key) << "the first video frame is not a keyframe";
    EXPECT_NEAR(v.duration, s.entry.duration, 0.1) << "EXTINF " << s.entry.extinf << " vs ffprobe " << v.duration
                                                   << " (" << v.frames << " frames)";
    total += s.entry.duration;
  }
  EXPECT_NEAR(total, kSeconds, 0.1) << "the segments together are the whole clip";
}

TEST_F(LocalPushTest, FfmpegReadsTheLiveStreamToItsEndlist) {
  LOCAL_REQUIRE_FFMPEG();
  constexpr double kSeconds = 6;
  const std::string clip = make_clip(kSeconds);
  ASSERT_FALSE(clip.empty());
  ASSERT_NO_FATAL_FAILURE(start(local_yaml("  - name: test\n"
                                           "    target_duration: 1s\n"
                                           "    source: {ingest: true, key: K}\n")));

  auto push = Process::start(ffmpeg_push(clip, port_, "/ingest/test?key=K"), tmp_);
  // Start reading once the stream is live (it has a segment), while the push goes on.
  auto first = wait_playlist("/live/test/index.m3u8", [](const MediaPlaylist& p) { return !p.entries.empty(); }, 5s);
  ASSERT_TRUE(first.valid) << first.error << "\n" << push.describe();
  ASSERT_FALSE(first.ended) << "the stream should still be live when the reader starts";
  auto reader = Process::start({"ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-progress", "pipe:1", "-i",
                                fmt::format("http://127.0.0.1:{}/live/test/index.m3u8", port_), "-c", "copy", "-f",
                                "null", "-"},
                               tmp_);

  auto pushed = push.wait(20s);
  ASSERT_TRUE(pushed.has_value()) << push.describe();
  EXPECT_EQ(*pushed, 0) << push.describe();
  // The reader ends on its own once it sees #EXT-X-ENDLIST (it reloads about every target duration).
  const auto push_end = LocalClock::now();
  auto read = reader.wait(10s);
  ASSERT_TRUE(read.has_value()) << "the reader did not end after the push ended: " << reader.describe();
  EXPECT_EQ(*read, 0) << reader.describe() << "\ndaemon log:\n" << daemon_.log();
  EXPECT_LT(ms_since(push_end), 8000);
  EXPECT_EQ(reader.err(), "") << "ffmpeg reported errors while reading";

  // It read real media: the progress report's last frame count covers most of the clip
  // (it joins at the live edge, at most three segments back, so it starts near the beginning).
  const std::string progress = reader.out();
  EXPECT_NE(progress.find("progress=end"), std::string::npos) << progress;
  auto at = progress.rfind("frame=");
  ASSERT_NE(at, std::string::npos) << progress;
  const int frames = std::atoi(progress.c_str() + at + 6);
  EXPECT_GE(frames, static_cast<int>((kSeconds - 2) * 25)) << progress;
  EXPECT_LE(frames, static_cast<int>(kSeconds * 25)) << progress;
}

// GOP k of an 8 s clip (segment k at target 1 s) is pushed at t0 + k s, except:
// GOP 3 300 ms late (a delivery delay: the chained PDT stays), GOP 4 at t0 + 3.8 s
// (200 ms earlier than the chain: restarted from its ingest time), GOP 6 1.5 s late
// (more than a target duration: restarted). The others follow on time.
TEST_F(LocalPushTest, ProgramDateTimeIsWhenTheSegmentsFirstFrameWasIngested) {
  LOCAL_REQUIRE_FFMPEG();
  const std::string clip = make_clip(8);  // keyframes every second
  ASSERT_FALSE(clip.empty());
  const std::string ts = read_file(clip);
  // Where each keyframe's PES begins: a unit start with random_access_indicator on the video PID.
  std::vector<std::size_t> cuts;
  for (std::size_t off = 0; off + 188 <= ts.size(); off += 188) {
    const auto* p = reinterpret_cast<const unsigned char*>(ts.data() + off);
    const int pid = ((p[1] & 0x1F) << 8) | p[2];
    if (pid == 0x100 && (p[1] & 0x40) && (p[3] & 0x20) && p[4] > 0 && (p[5] & 0x40)) cuts.push_back(off);
  }
  ASSERT_EQ(cuts.size(), 8u);
  cuts[0] = 0;  // the first piece takes the PAT/PMT before the first keyframe too
  cuts.push_back(ts.size());
  ASSERT_NO_FATAL_FAILURE(start(local_yaml("  - name: pdt\n"
                                           "    target_duration: 1s\n"
                                           "    window: 10\n"
                                           "    source: {ingest: true}\n")));

  using std::chrono::milliseconds;
  const std::vector<milliseconds> schedule = {0ms, 1000ms, 2000ms, 3300ms, 3800ms, 4800ms, 7300ms, 8300ms};
  Pusher pusher(port_, "/ingest/pdt");
  ASSERT_TRUE(pusher.connected());
  std::vector<std::chrono::system_clock::time_point> sent;
  std::vector<double> overshoot_ms;  // how late the test itself was for each send
  const auto t0 = LocalClock::now() + 200ms;
  for (std::size_t k = 0; k + 1 < cuts.size(); ++k) {
    std::this_thread::sleep_until(t0 + schedule[k]);
    overshoot_ms.push_back(std::chrono::duration<double, std::milli>(LocalClock::now() - (t0 + schedule[k])).count());
    sent.push_back(std::chrono::system_clock::now());
    ASSERT_TRUE(pusher.send(std::string_view(ts).substr(cuts[k], cuts[k + 1] - cuts[k])));
  }
  auto done = pusher.finish();
  EXPECT_EQ(done.status, 200) << done.describe();
  auto p = wait_playlist("/live/pdt/index.m3u8", [](const MediaPlaylist& pl) { return pl.ended; }, 5s);
  ASSERT_TRUE(p.valid && p.ended) << p.error << "\n" << p.text;
  ASSERT_EQ(p.entries.size(), 8u) << p.text;
  SCOPED_TRACE(p.text);
  for (std::size_t k = 0; k < 8; ++k) {
    ASSERT_EQ(p.entries[k].sequence, p.entries[0].sequence + k);
    ASSERT_TRUE(p.entries[k].pdt_ms.has_value());
    ASSERT_LT(overshoot_ms[k], 150) << "the test could not keep its schedule for GOP " << k;
  }
  auto sent_ms = [&](std::size_t k) {
    return static_cast<double>(
        std::chrono::duration_cast<std::chrono::milliseconds>(sent[k].time_since_epoch()).count());
  };
  auto pdt = [&](std::size_t k) { return static_cast<double>(*p.entries[k].pdt_ms); };
  auto chained = [&](std::size_t k) { return pdt(k - 1) + p.entries[k - 1].duration * 1000; };

  // The first segment and the restarted ones: their ingest time, within 50 ms.
  for (const std::size_t k : {0u, 4u, 6u}) EXPECT_NEAR(pdt(k), sent_ms(k), 50.0) << "seg " << k;
  // The others: previous PDT + EXTINF, to the ms.
  for (const std::size_t k : {1u, 2u, 3u, 5u, 7u}) EXPECT_NEAR(pdt(k), chained(k), 2.0) << "seg " << k << " is chained";
  // Sent on time, so that is their ingest time too, within 50 ms (unless the test itself was late).
  for (const std::size_t k : {1u, 2u, 5u, 7u}) {
    if (overshoot_ms[k] < 25) {
      EXPECT_NEAR(pdt(k), sent_ms(k), 50.0) << "seg " << k;
    }
  }
  // GOP 3 came 300 ms late: a delivery delay, not published.
  EXPECT_NEAR(pdt(3), sent_ms(3) - 300, 50.0);
  EXPECT_EQ(metric("hlscache_segmenter_pdt_resyncs_total", "stream=\"pdt\",rendition=\"main\"").value_or(-1), 2);
}

}  // namespace
}  // namespace hlscache::test
