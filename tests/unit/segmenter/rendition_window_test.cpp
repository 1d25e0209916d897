// RenditionWindow: exact playlist text (golden strings) through window sliding,
// discontinuities, target-duration rules and ENDLIST; retention and expiry;
// lookup states; snapshots, listeners and concurrent readers; master playlist.
#include <gtest/gtest.h>

#include <atomic>
#include <sstream>
#include <thread>

#include "segmenter/master_playlist.hpp"
#include "segmenter/rendition_window.hpp"

using namespace hlscache;
using namespace std::chrono;
using namespace std::chrono_literals;

namespace {

const WallTime kWall = sys_days{year{2024} / 1 / 1};
const TimePoint kT0 = TimePoint{} + hours(1);

Segment seg(std::uint64_t sequence, double duration, bool discontinuity = false, bool keyframe = true,
            std::uint64_t size = 1000) {
  Segment s;
  s.sequence = sequence;
  s.duration = duration;
  s.discontinuity = discontinuity;
  s.starts_with_keyframe = keyframe;
  s.size = size;
  s.chunks.push_back(Chunk::copy_of(std::string(16, 'x')));
  return s;
}

Segment ingested(Segment s, WallTime at) {
  s.ingest_time = at;
  return s;
}

RenditionWindowConfig config(std::size_t window = 3) {
  RenditionWindowConfig c;
  c.window_segments = window;
  return c;
}

std::string text(const RenditionWindow& w) { return *w.playlist()->text; }

}  // namespace

TEST(RenditionWindow, SlidesAndRendersTheExactText) {
  RenditionWindow w(config(3));
  for (std::uint64_t i = 0; i < 5; ++i) {
    ASSERT_TRUE(w.add(ingested(seg(i, 2.0), kWall + seconds(2 * i)), kT0 + seconds(2 * i)).ok());
  }
  EXPECT_EQ(text(w),
            "#EXTM3U\n"
            "#EXT-X-VERSION:3\n"
            "#EXT-X-INDEPENDENT-SEGMENTS\n"
            "#EXT-X-TARGETDURATION:2\n"
            "#EXT-X-MEDIA-SEQUENCE:2\n"
            "#EXT-X-PROGRAM-DATE-TIME:2024-01-01T00:00:04.000Z\n"
            "#EXTINF:2.000,\n"
            "seg_2.ts\n"
            "#EXT-X-PROGRAM-DATE-TIME:2024-01-01T00:00:06.000Z\n"
            "#EXTINF:2.000,\n"
            "seg_3.ts\n"
            "#EXT-X-PROGRAM-DATE-TIME:2024-01-01T00:00:08.000Z\n"
            "#EXTINF:2.000,\n"
            "seg_4.ts\n");
  const auto snap = w.playlist();
  EXPECT_EQ(snap->media_sequence, 2u);
  EXPECT_EQ(snap->next_sequence, 5u);
  EXPECT_EQ(snap->segment_count, 3u);
}

TEST(RenditionWindow, ProgramDateTimeIsTheIngestTimeThenChainedByExtinf) {
  RenditionWindow w(config(3));
  // The first segment: its own ingest time.
  ASSERT_TRUE(w.add(ingested(seg(0, 2.04), kWall + 40ms), kT0).ok());
  // Later or a little earlier than the chain (00:00:02.080): PDT = previous PDT + EXTINF,
  // the arrival jitter is not published.
  ASSERT_TRUE(w.add(ingested(seg(1, 1.96), kWall + 2080ms + 300ms), kT0).ok());  // delivered 300 ms late
  EXPECT_NEAR(w.stats().program_date_time_drift, 0.300, 1e-9);
  ASSERT_TRUE(w.add(ingested(seg(2, 2.0), kWall + 4040ms - 50ms), kT0).ok());  // early, by exactly the tolerance
  EXPECT_NEAR(w.stats().program_date_time_drift, -0.050, 1e-9);
  ASSERT_TRUE(w.add(ingested(seg(3, 2.0), kWall + 6040ms + 2000ms), kT0).ok());  // late by a whole target duration
  EXPECT_NEAR(w.stats().max_program_date_time_drift, 2.0, 1e-9);
  EXPECT_EQ(w.stats().program_date_time_resyncs, 0u);
  const std::string t = text(w);
  EXPECT_NE(t.find("#EXT-X-PROGRAM-DATE-TIME:2024-01-01T00:00:02.080Z\n#EXTINF:1.960,\nseg_1.ts"), std::string::npos) << t;
  EXPECT_NE(t.find("#EXT-X-PROGRAM-DATE-TIME:2024-01-01T00:00:04.040Z\n#EXTINF:2.000,\nseg_2.ts"), std::string::npos) << t;
  EXPECT_NE(t.find("#EXT-X-PROGRAM-DATE-TIME:2024-01-01T00:00:06.040Z\n#EXTINF:2.000,\nseg_3.ts"), std::string::npos) << t;
}

TEST(RenditionWindow, ProgramDateTimeRestartsFromAnEarlyOrAVeryLateIngest) {
  RenditionWindow w(config(3));
  // seg_0 was delivered late (a buffer in the publisher): seg_1 arrives 165 ms earlier
  // than the chain says, which no delivery delay explains: PDT is its ingest time.
  ASSERT_TRUE(w.add(ingested(seg(0, 2.0), kWall), kT0).ok());
  ASSERT_TRUE(w.add(ingested(seg(1, 2.0), kWall + 1835ms), kT0).ok());
  EXPECT_EQ(w.stats().program_date_time_resyncs, 1u);
  EXPECT_EQ(w.stats().program_date_time_drift, 0.0);
  // Chained from there.
  ASSERT_TRUE(w.add(ingested(seg(2, 2.0), kWall + 3840ms), kT0).ok());
  EXPECT_EQ(w.stats().program_date_time_resyncs, 1u);
  // More than a target duration late (the publisher's clock runs slow, or it stalled
  // without a discontinuity): its ingest time again.
  ASSERT_TRUE(w.add(ingested(seg(3, 2.0), kWall + 5835ms + 2001ms), kT0).ok());
  EXPECT_EQ(w.stats().program_date_time_resyncs, 2u);
  std::string t = text(w);
  EXPECT_NE(t.find("#EXT-X-PROGRAM-DATE-TIME:2024-01-01T00:00:01.835Z\n#EXTINF:2.000,\nseg_1.ts"), std::string::npos) << t;
  EXPECT_NE(t.find("#EXT-X-PROGRAM-DATE-TIME:2024-01-01T00:00:03.835Z\n#EXTINF:2.000,\nseg_2.ts"), std::string::npos) << t;
  EXPECT_NE(t.find("#EXT-X-PROGRAM-DATE-TIME:2024-01-01T00:00:07.836Z\n#EXTINF:2.000,\nseg_3.ts"), std::string::npos) << t;
  // A discontinuity takes its ingest time as it is; that is not a resync.
  ASSERT_TRUE(w.add(ingested(seg(4, 2.0, true), kWall + 60s), kT0).ok());
  EXPECT_EQ(w.stats().program_date_time_resyncs, 2u);
  EXPECT_NE(text(w).find("#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME:2024-01-01T00:01:00.000Z\n"), std::string::npos);
}

TEST(RenditionWindow, KeepsAtLeastThreeTargetDurations) {
  RenditionWindow w(config(3));
  for (std::uint64_t i = 0; i < 10; ++i) ASSERT_TRUE(w.add(ingested(seg(i, 1.0), kWall), kT0).ok());
  const auto snap = w.playlist();
  EXPECT_EQ(snap->segment_count, 6u);  // 6 x 1 s = 3 x TARGETDURATION 2
  EXPECT_EQ(snap->media_sequence, 4u);
}

TEST(RenditionWindow, DiscontinuityTagsAndSequence) {
  RenditionWindow w(config(3));
  ASSERT_TRUE(w.add(ingested(seg(0, 2.0), kWall), kT0).ok());
  ASSERT_TRUE(w.add(ingested(seg(1, 2.0), kWall + 2s), kT0).ok());
  ASSERT_TRUE(w.add(ingested(seg(2, 2.0, true), kWall + 60s), kT0).ok());
  EXPECT_EQ(text(w),
            "#EXTM3U\n"
            "#EXT-X-VERSION:3\n"
            "#EXT-X-INDEPENDENT-SEGMENTS\n"
            "#EXT-X-TARGETDURATION:2\n"
            "#EXT-X-MEDIA-SEQUENCE:0\n"
            "#EXT-X-DISCONTINUITY-SEQUENCE:0\n"
            "#EXT-X-PROGRAM-DATE-TIME:2024-01-01T00:00:00.000Z\n"
            "#EXTINF:2.000,\n"
            "seg_0.ts\n"
            "#EXT-X-PROGRAM-DATE-TIME:2024-01-01T00:00:02.000Z\n"
            "#EXTINF:2.000,\n"
            "seg_1.ts\n"
            "#EXT-X-DISCONTINUITY\n"
            "#EXT-X-PROGRAM-DATE-TIME:2024-01-01T00:01:00.000Z\n"
            "#EXTINF:2.000,\n"
            "seg_2.ts\n");
  ASSERT_TRUE(w.add(ingested(seg(3, 2.0), kWall + 62s), kT0).ok());
  ASSERT_TRUE(w.add(ingested(seg(4, 2.0), kWall + 64s), kT0).ok());
  EXPECT_NE(text(w).find("#EXT-X-DISCONTINUITY-SEQUENCE:0\n"), std::string::npos);  // seg_2 still listed
  ASSERT_TRUE(w.add(ingested(seg(5, 2.0), kWall + 66s), kT0).ok());  // seg_2 and its tag leave
  const std::string t = text(w);
  EXPECT_NE(t.find("#EXT-X-MEDIA-SEQUENCE:3\n#EXT-X-DISCONTINUITY-SEQUENCE:1\n"), std::string::npos);
  EXPECT_EQ(t.find("#EXT-X-DISCONTINUITY\n"), std::string::npos);
}

TEST(RenditionWindow, FirstSegmentIsNeverMarkedDiscontinuous) {
  RenditionWindow w(config(3));
  ASSERT_TRUE(w.add(ingested(seg(0, 2.0, true), kWall), kT0).ok());
  EXPECT_EQ(text(w).find("DISCONTINUITY"), std::string::npos);
}

TEST(RenditionWindow, EndListAndNothingAfterIt) {
  RenditionWindow w(config(3));
  ASSERT_TRUE(w.add(ingested(seg(0, 1.5), kWall), kT0).ok());
  w.end();
  EXPECT_EQ(text(w),
            "#EXTM3U\n"
            "#EXT-X-VERSION:3\n"
            "#EXT-X-INDEPENDENT-SEGMENTS\n"
            "#EXT-X-TARGETDURATION:2\n"
            "#EXT-X-MEDIA-SEQUENCE:0\n"
            "#EXT-X-PROGRAM-DATE-TIME:2024-01-01T00:00:00.000Z\n"
            "#EXTINF:1.500,\n"
            "seg_0.ts\n"
            "#EXT-X-ENDLIST\n");
  EXPECT_TRUE(w.playlist()->ended);
  auto r = w.add(ingested(seg(1, 2.0), kWall), kT0);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(w.lookup(1).state, SegmentState::never);  // no more segments will come
  EXPECT_EQ(w.lookup(5).state, SegmentState::never);  // nor any further ahead
  EXPECT_EQ(w.stats().segments_rejected, 1u);
}

TEST(RenditionWindow, TargetDurationRaisedByTheFirstGopThenOnlyWhenForced) {
  RenditionWindow w(config(3));
  ASSERT_TRUE(w.add(ingested(seg(0, 3.2), kWall), kT0).ok());  // first GOP: 3 s
  EXPECT_EQ(w.playlist()->target_duration, 3);
  EXPECT_EQ(w.stats().target_duration_raises, 0u);
  ASSERT_TRUE(w.add(ingested(seg(1, 3.4), kWall), kT0).ok());  // rounds to 3: fits
  EXPECT_EQ(w.playlist()->target_duration, 3);
  ASSERT_TRUE(w.add(ingested(seg(2, 4.6), kWall), kT0).ok());  // rounds to 5: never publish TD < round(EXTINF)
  EXPECT_NE(text(w).find("#EXT-X-TARGETDURATION:5\n"), std::string::npos);
  EXPECT_EQ(w.stats().target_duration_raises, 1u);
  EXPECT_EQ(w.stats().segments_over_target, 3u);
  ASSERT_TRUE(w.add(ingested(seg(3, 2.0), kWall), kT0).ok());  // never lowered again
  EXPECT_EQ(w.playlist()->target_duration, 5);
}

TEST(RenditionWindow, RoundingUsesTheWrittenValue) {
  EXPECT_EQ(format_extinf(2.4996), "2.500");
  EXPECT_EQ(rounded_extinf(2.4996), 3);
  EXPECT_EQ(rounded_extinf(2.4994), 2);
  EXPECT_EQ(rounded_extinf(2.0), 2);
  RenditionWindow w(config(3));
  ASSERT_TRUE(w.add(ingested(seg(0, 2.4996), kWall), kT0).ok());
  EXPECT_EQ(w.playlist()->target_duration, 3);
}

TEST(RenditionWindow, RetiredSegmentsStayFetchableThenExpire) {
  RenditionWindow w(config(3));
  for (std::uint64_t i = 0; i < 4; ++i) ASSERT_TRUE(w.add(ingested(seg(i, 2.0), kWall), kT0 + seconds(2 * i)).ok());
  // seg_0 left the window at t0+6 s. Longest playlist so far: 6 s; plus max(TD, 2 s) -> until t0+14 s.
  EXPECT_EQ(w.playlist()->media_sequence, 1u);
  EXPECT_EQ(w.lookup(0).state, SegmentState::found);
  w.expire(kT0 + 14s - 1ms);
  ASSERT_EQ(w.lookup(0).state, SegmentState::found);
  EXPECT_EQ(w.lookup(0).segment->segment.sequence, 0u);
  w.expire(kT0 + 14s);
  EXPECT_EQ(w.lookup(0).state, SegmentState::never);
  EXPECT_EQ(w.lookup(1).state, SegmentState::found);
  EXPECT_EQ(w.stats().segments_freed, 1u);
}

TEST(RenditionWindow, RetiredListIsBounded) {
  RenditionWindowConfig c = config(3);
  c.max_retired_segments = 2;
  RenditionWindow w(c);
  for (std::uint64_t i = 0; i < 10; ++i) ASSERT_TRUE(w.add(ingested(seg(i, 2.0), kWall), kT0).ok());
  // Window 7..9; 0..6 retired, of which only the newest two are kept.
  EXPECT_EQ(w.lookup(6).state, SegmentState::found);
  EXPECT_EQ(w.lookup(5).state, SegmentState::found);
  EXPECT_EQ(w.lookup(4).state, SegmentState::never);
  EXPECT_EQ(w.stats().segments_freed_early, 5u);
}

TEST(RenditionWindow, LookupStates) {
  RenditionWindow w(config(3));
  EXPECT_EQ(w.lookup(0).state, SegmentState::not_yet);  // before anything: the first one is next
  EXPECT_EQ(w.lookup(1).state, SegmentState::ahead);
  ASSERT_TRUE(w.add(ingested(seg(0, 2.0), kWall), kT0).ok());
  const SegmentLookup found = w.lookup(0);
  ASSERT_EQ(found.state, SegmentState::found);
  EXPECT_EQ(found.segment->segment.chunks.front().view(), std::string(16, 'x'));
  EXPECT_EQ(w.lookup(1).state, SegmentState::not_yet);
  EXPECT_EQ(w.lookup(2).state, SegmentState::ahead);
  EXPECT_EQ(w.lookup(1000).state, SegmentState::ahead);
}

TEST(RenditionWindow, RejectsOutOfSequenceSegments) {
  RenditionWindow w(config(3));
  ASSERT_TRUE(w.add(ingested(seg(7, 2.0), kWall), kT0).ok());  // the first one sets the numbering
  auto r = w.add(ingested(seg(9, 2.0), kWall), kT0);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("expected 8"), std::string::npos);
  EXPECT_TRUE(w.add(ingested(seg(8, 2.0), kWall), kT0).ok());
}

TEST(RenditionWindow, IndependentSegmentsOnlyWhenEverySegmentStartsWithAKeyframe) {
  RenditionWindow w(config(3));
  ASSERT_TRUE(w.add(ingested(seg(0, 2.0), kWall), kT0).ok());
  ASSERT_TRUE(w.add(ingested(seg(1, 2.0, false, false), kWall), kT0).ok());
  EXPECT_EQ(text(w).find("#EXT-X-INDEPENDENT-SEGMENTS"), std::string::npos);
}

TEST(RenditionWindow, SnapshotsAreImmutableAndVersioned) {
  RenditionWindow w(config(3));
  ASSERT_TRUE(w.add(ingested(seg(0, 2.0), kWall), kT0).ok());
  const auto before = w.playlist();
  const std::string copy = *before->text;
  ASSERT_TRUE(w.add(ingested(seg(1, 2.0), kWall), kT0).ok());
  const auto after = w.playlist();
  EXPECT_EQ(*before->text, copy);
  EXPECT_NE(*after->text, copy);
  EXPECT_EQ(after->version, before->version + 1);
}

TEST(RenditionWindow, ListenersHearEachNewSegmentAndTheEnd) {
  RenditionWindow w(config(3));
  std::vector<std::uint64_t> heard;
  bool ended = false;
  auto id = w.subscribe([&](const RenditionWindow::Snapshot& s) {
    heard.push_back(s->next_sequence);
    ended = s->ended;
  });
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(w.add(ingested(seg(0, 2.0), kWall), kT0).ok());
  ASSERT_TRUE(w.add(ingested(seg(1, 2.0), kWall), kT0).ok());
  w.end();
  EXPECT_EQ(heard, (std::vector<std::uint64_t>{1, 2, 2}));
  EXPECT_TRUE(ended);
  w.unsubscribe(*id);
  RenditionWindowConfig small = config(3);
  small.max_listeners = 1;
  RenditionWindow w3(small);
  ASSERT_TRUE(w3.subscribe([](const RenditionWindow::Snapshot&) {}).ok());
  auto over = w3.subscribe([](const RenditionWindow::Snapshot&) {});
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code, Errc::overloaded);
}

TEST(RenditionWindow, ConcurrentReadersNeverSeeAnUnfetchableSegment) {
  RenditionWindow w(config(3));
  std::atomic<bool> done{false};
  std::atomic<int> checked{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      while (!done.load()) {
        const auto snap = w.playlist();
        std::istringstream in(*snap->text);
        std::string line;
        while (std::getline(in, line)) {
          if (line.rfind("seg_", 0) != 0) continue;
          const std::uint64_t seq = std::stoull(line.substr(4));
          EXPECT_EQ(w.lookup(seq).state, SegmentState::found) << line;
          checked.fetch_add(1);
        }
      }
    });
  }
  for (std::uint64_t i = 0; i < 60; ++i) {
    // `now` stands still: retention is not under test here, publication order is.
    ASSERT_TRUE(w.add(ingested(seg(i, 2.0), kWall), kT0).ok());
    std::this_thread::sleep_for(200us);
  }
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_GT(checked.load(), 0);
}

TEST(MasterPlaylist, RendersEachRendition) {
  const std::vector<RenditionInfo> r = {
      {"hi", 2'200'000, 2'000'000, 1280, 720, "avc1.64001f,mp4a.40.2"},
      {"audio", 64'000, 0, 0, 0, "mp4a.40.2"},
  };
  EXPECT_EQ(render_master_playlist(r),
            "#EXTM3U\n"
            "#EXT-X-VERSION:3\n"
            "#EXT-X-INDEPENDENT-SEGMENTS\n"
            "#EXT-X-STREAM-INF:BANDWIDTH=2200000,AVERAGE-BANDWIDTH=2000000,RESOLUTION=1280x720,"
            "CODECS=\"avc1.64001f,mp4a.40.2\"\n"
            "hi/index.m3u8\n"
            "#EXT-X-STREAM-INF:BANDWIDTH=64000,CODECS=\"mp4a.40.2\"\n"
            "audio/index.m3u8\n");
}

TEST(MasterPlaylist, RenditionInfoIsMeasuredFromSegments) {
  RenditionWindow w(config(3));
  ASSERT_TRUE(w.add(ingested(seg(0, 2.0, false, true, 500'000), kWall), kT0).ok());  // 2.0 Mbit/s
  ASSERT_TRUE(w.add(ingested(seg(1, 2.0, false, true, 600'000), kWall), kT0).ok());  // 2.4 Mbit/s
  ASSERT_TRUE(w.add(ingested(seg(2, 0.2, false, true, 100'000), kWall), kT0).ok());  // 4 Mbit/s, too short for a peak
  StreamFacts f;
  f.width = 640;
  f.height = 360;
  f.video_codec_string = "avc1.64001e";
  f.audio_codec_string = "mp4a.40.2";
  w.set_stream_facts(f);
  const RenditionInfo info = w.rendition_info("low");
  EXPECT_EQ(info.bandwidth, 2'400'000u);
  EXPECT_NEAR(static_cast<double>(info.average_bandwidth), 1'200'000 * 8 / 4.2, 1.0);
  const std::vector<RenditionInfo> list = {info};
  EXPECT_EQ(render_master_playlist(list),
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n"
            "#EXT-X-STREAM-INF:BANDWIDTH=2400000,AVERAGE-BANDWIDTH=" +
                std::to_string(info.average_bandwidth) +
                ",RESOLUTION=640x360,CODECS=\"avc1.64001e,mp4a.40.2\"\nlow/index.m3u8\n");
}
