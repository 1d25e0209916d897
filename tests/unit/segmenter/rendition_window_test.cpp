// RenditionWindow: exact playlist text (golden strings) through window sliding,
// discontinuities, target-duration rules and ENDLIST; retention and expiry;
// lookup states; snapshots, listeners and concurrent readers; master playlist.
#include <fmt/format.h>
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

TEST(RenditionWindow, FirstSegmentIsDiscontinuousOnlyWhenTheWindowFollowsAnotherRun) {
  {
    RenditionWindow w(config(3));
    ASSERT_TRUE(w.add(ingested(seg(0, 2.0, true), kWall), kT0).ok());
    EXPECT_EQ(text(w).find("DISCONTINUITY"), std::string::npos);
  }
  // A live stream's new window: its first segment marks the break with the run before,
  // and when it slides out the tag is counted in DISCONTINUITY-SEQUENCE.
  RenditionWindowConfig c = config(3);
  c.first_sequence = 40;
  c.first_discontinuity_sequence = 20;
  c.first_segment_discontinuity = true;
  RenditionWindow w(c);
  ASSERT_TRUE(w.add(ingested(seg(40, 2.0, false), kWall), kT0).ok());
  EXPECT_NE(text(w).find("#EXT-X-DISCONTINUITY-SEQUENCE:20\n#EXT-X-DISCONTINUITY\n"), std::string::npos) << text(w);
  for (std::uint64_t i = 41; i < 44; ++i) ASSERT_TRUE(w.add(ingested(seg(i, 2.0), kWall + seconds(2 * (i - 40))), kT0).ok());
  EXPECT_NE(text(w).find("#EXT-X-MEDIA-SEQUENCE:41\n#EXT-X-DISCONTINUITY-SEQUENCE:21\n"), std::string::npos) << text(w);
  EXPECT_EQ(text(w).find("#EXT-X-DISCONTINUITY\n"), std::string::npos) << text(w);
}

TEST(RenditionWindow, SegmentUrisCarryTheWindowsPrefixAndOnlyThoseResolve) {
  RenditionWindowConfig c = config(3);
  c.segment_prefix = "seg_0badf00d_";
  c.first_sequence = 7;
  RenditionWindow w(c);
  ASSERT_TRUE(w.add(ingested(seg(7, 2.0), kWall), kT0).ok());
  EXPECT_NE(text(w).find("\nseg_0badf00d_7.ts\n"), std::string::npos) << text(w);
  EXPECT_EQ(w.sequence_of("seg_0badf00d_7.ts"), 7u);
  EXPECT_EQ(w.sequence_of("seg_0badf00d_8.ts"), 8u);  // the next one: lookup() says not_yet
  for (std::string_view other : {"seg_7.ts", "seg_0badf00e_7.ts", "seg_0badf00d_.ts", "seg_0badf00d_7x.ts",
                                 "seg_0badf00d_-7.ts", "seg_0badf00d_7.m4s", "seg_0badf00d_99999999999999999999.ts"})
    EXPECT_FALSE(w.sequence_of(other).has_value()) << other;
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

// ---- Low-Latency HLS: parts, preload hint, server control, delta updates ----------

namespace {

Part part(std::uint64_t sequence, std::uint32_t index, double duration, bool independent, WallTime at) {
  Part p;
  p.sequence = sequence;
  p.index = index;
  p.duration = duration;
  p.independent = independent;
  p.ingest_time = at;
  p.chunks.push_back(Chunk::copy_of(fmt::format("{}.{}", sequence, index)));
  p.size = p.chunks.back().size;
  return p;
}

RenditionWindowConfig ll_config(std::size_t window) {
  RenditionWindowConfig c = config(window);
  c.target_duration = 1000ms;
  c.part_target = 500ms;
  c.segment_prefix = "seg_s_";
  c.part_prefix = "part_s_";
  c.segment_suffix = ".m4s";
  c.map_prefix = "init_s_";
  return c;
}

// Segment `sequence` of two 0.5 s parts (the first independent), ingested at kWall + sequence s.
void add_ll_segment(RenditionWindow& w, std::uint64_t sequence, int map = 0) {
  const WallTime at = kWall + seconds(sequence);
  Part first = part(sequence, 0, 0.5, true, at), second = part(sequence, 1, 0.5, false, at + 500ms);
  first.map = second.map = map;
  ASSERT_TRUE(w.add_part(std::move(first), kT0).ok());
  ASSERT_TRUE(w.add_part(std::move(second), kT0).ok());
  Segment s = ingested(seg(sequence, 1.0), at);
  s.map = map;
  ASSERT_TRUE(w.add(std::move(s), kT0).ok());
}

}  // namespace

TEST(RenditionWindowLowLatency, ListsRecentPartsThePreloadHintAndServerControl) {
  RenditionWindow w(ll_config(6));
  for (std::uint64_t i = 0; i < 4; ++i) add_ll_segment(w, i);
  Part open = part(4, 0, 0.5, true, kWall + 4s);
  open.map = 0;
  ASSERT_TRUE(w.add_part(std::move(open), kT0).ok());
  EXPECT_EQ(text(w),
            "#EXTM3U\n"
            "#EXT-X-VERSION:9\n"
            "#EXT-X-INDEPENDENT-SEGMENTS\n"
            "#EXT-X-TARGETDURATION:1\n"
            "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.500,CAN-SKIP-UNTIL=6.000\n"
            "#EXT-X-PART-INF:PART-TARGET=0.500\n"
            "#EXT-X-MEDIA-SEQUENCE:0\n"
            "#EXT-X-MAP:URI=\"init_s_0.mp4\"\n"
            "#EXT-X-PROGRAM-DATE-TIME:2024-01-01T00:00:00.000Z\n"
            "#EXTINF:1.000,\n"
            "seg_s_0.m4s\n"
            "#EXT-X-PROGRAM-DATE-TIME:2024-01-01T00:00:01.000Z\n"
            "#EXT-X-PART:DURATION=0.500,URI=\"part_s_1.0.m4s\",INDEPENDENT=YES\n"
            "#EXT-X-PART:DURATION=0.500,URI=\"part_s_1.1.m4s\"\n"
            "#EXTINF:1.000,\n"
            "seg_s_1.m4s\n"
            "#EXT-X-PROGRAM-DATE-TIME:2024-01-01T00:00:02.000Z\n"
            "#EXT-X-PART:DURATION=0.500,URI=\"part_s_2.0.m4s\",INDEPENDENT=YES\n"
            "#EXT-X-PART:DURATION=0.500,URI=\"part_s_2.1.m4s\"\n"
            "#EXTINF:1.000,\n"
            "seg_s_2.m4s\n"
            "#EXT-X-PROGRAM-DATE-TIME:2024-01-01T00:00:03.000Z\n"
            "#EXT-X-PART:DURATION=0.500,URI=\"part_s_3.0.m4s\",INDEPENDENT=YES\n"
            "#EXT-X-PART:DURATION=0.500,URI=\"part_s_3.1.m4s\"\n"
            "#EXTINF:1.000,\n"
            "seg_s_3.m4s\n"
            "#EXT-X-PROGRAM-DATE-TIME:2024-01-01T00:00:04.000Z\n"
            "#EXT-X-PART:DURATION=0.500,URI=\"part_s_4.0.m4s\",INDEPENDENT=YES\n"
            "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part_s_4.1.m4s\"\n");
  const auto snap = w.playlist();
  EXPECT_EQ(snap->next_sequence, 4u);
  EXPECT_EQ(snap->open_parts, 1u);
  EXPECT_EQ(snap->last_part, (std::pair<std::uint64_t, std::uint64_t>{4, 0}));
  // What a blocking reload waits for.
  EXPECT_TRUE(snap->holds(3, std::nullopt));
  EXPECT_FALSE(snap->holds(4, std::nullopt));
  EXPECT_TRUE(snap->holds(4, 0));
  EXPECT_FALSE(snap->holds(4, 1));
  EXPECT_FALSE(snap->holds(5, 0));
  EXPECT_EQ(*snap->delta_text, *snap->text) << "nothing lies 6 s before the end yet";
}

TEST(RenditionWindowLowLatency, PartsResolveByNameAndThePreloadHintedOneIsNotYet) {
  RenditionWindow w(ll_config(6));
  add_ll_segment(w, 0);
  ASSERT_TRUE(w.add_part(part(1, 0, 0.5, true, kWall + 1s), kT0).ok());
  EXPECT_EQ(w.part_of("part_s_0.1.m4s"), (std::pair<std::uint64_t, std::uint32_t>{0, 1}));
  EXPECT_EQ(w.sequence_of("seg_s_0.m4s"), 0u);
  EXPECT_FALSE(w.sequence_of("seg_s_0.ts").has_value()) << "an fMP4 window's segments end .m4s";
  for (std::string_view bad : {"part_s_0.m4s", "part_s_.1.m4s", "part_s_0..m4s", "part_t_0.1.m4s", "part_s_0.1.ts",
                               "seg_s_0.m4s", "part_s_0.1x.m4s"})
    EXPECT_FALSE(w.part_of(bad).has_value()) << bad;
  auto found = w.lookup_part(0, 1);
  ASSERT_EQ(found.state, SegmentState::found);
  EXPECT_EQ(found.part->chunks.front().view(), "0.1");
  EXPECT_EQ(w.lookup_part(1, 0).state, SegmentState::found);
  EXPECT_EQ(w.lookup_part(1, 1).state, SegmentState::not_yet);  // the hinted part
  EXPECT_EQ(w.lookup_part(1, 2).state, SegmentState::never);
  EXPECT_EQ(w.lookup_part(0, 2).state, SegmentState::never);
  EXPECT_EQ(w.lookup_part(2, 0).state, SegmentState::never);
  // Out of order is refused; the segment takes its parts' PDT and bytes stay reachable.
  EXPECT_FALSE(w.add_part(part(1, 2, 0.5, false, kWall + 1s), kT0).ok());
  EXPECT_FALSE(w.add_part(part(2, 0, 0.5, false, kWall + 1s), kT0).ok());
  ASSERT_TRUE(w.add_part(part(1, 1, 0.5, false, kWall + 1500ms), kT0).ok());
  ASSERT_TRUE(w.add(ingested(seg(1, 1.0), kWall + 1s + 30ms), kT0).ok());
  EXPECT_NE(text(w).find("#EXT-X-PROGRAM-DATE-TIME:2024-01-01T00:00:01.000Z\n#EXT-X-PART:DURATION=0.500,URI=\"part_s_1.0.m4s\""),
            std::string::npos)
      << text(w);
  EXPECT_EQ(w.lookup_part(1, 1).state, SegmentState::found);
  EXPECT_EQ(w.lookup_part(2, 0).state, SegmentState::not_yet);
  EXPECT_EQ(w.playlist()->last_part, (std::pair<std::uint64_t, std::uint64_t>{1, 1})) << "the whole segment's last";
  EXPECT_NE(text(w).find("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part_s_2.0.m4s\"\n"), std::string::npos) << text(w);
  w.end();
  EXPECT_EQ(text(w).find("PRELOAD-HINT"), std::string::npos) << "an ended playlist hints at nothing";
  EXPECT_EQ(w.lookup_part(2, 0).state, SegmentState::never);
}

TEST(RenditionWindowLowLatency, DeltaUpdatesSkipWhatLiesBeyondSixTargetDurationsAndPartsOnlyNearTheEnd) {
  RenditionWindow w(ll_config(12));
  for (std::uint64_t i = 0; i < 10; ++i) add_ll_segment(w, i);
  const auto snap = w.playlist();
  const std::string& full = *snap->text;
  const std::string& delta = *snap->delta_text;
  // 10 segments of 1 s: segments 0-3 end 6 s or more before the end and are skipped.
  EXPECT_NE(delta.find("#EXT-X-SKIP:SKIPPED-SEGMENTS=4\n#EXT-X-MAP:URI=\"init_s_0.mp4\"\n#EXT-X-PROGRAM-DATE-TIME:2024-01-01T00:00:04.000Z\n"),
            std::string::npos)
      << delta;
  EXPECT_EQ(delta.find("seg_s_3.m4s"), std::string::npos) << delta;
  EXPECT_NE(delta.find("seg_s_4.m4s"), std::string::npos) << delta;
  EXPECT_NE(full.find("seg_s_0.m4s"), std::string::npos) << full;
  // Parts are listed for the segments ending within 3 target durations of the end: 7, 8, 9.
  EXPECT_EQ(full.find("part_s_6.0.m4s"), std::string::npos) << full;
  EXPECT_NE(full.find("part_s_7.0.m4s"), std::string::npos) << full;
  EXPECT_NE(full.find("part_s_9.1.m4s"), std::string::npos) << full;
  // The delta is the full playlist from the skip on.
  EXPECT_EQ(delta.substr(delta.find("#EXT-X-PROGRAM-DATE-TIME:2024-01-01T00:00:04.000Z")),
            full.substr(full.find("#EXT-X-PROGRAM-DATE-TIME:2024-01-01T00:00:04.000Z")));
}

TEST(RenditionWindowLowLatency, InitSegmentsAreKeptByIndexAndEachChangeGetsItsMap) {
  RenditionWindow w(ll_config(6));
  EXPECT_EQ(w.add_init("moov-a"), 0);
  EXPECT_EQ(w.add_init("moov-a"), 0) << "the same bytes: the same init segment";
  add_ll_segment(w, 0, 0);
  EXPECT_EQ(w.add_init("moov-b"), 1);
  add_ll_segment(w, 1, 1);
  const std::string t = text(w);
  EXPECT_NE(t.find("#EXT-X-MAP:URI=\"init_s_0.mp4\"\n#EXT-X-PROGRAM-DATE-TIME:2024-01-01T00:00:00.000Z"), std::string::npos) << t;
  EXPECT_NE(t.find("seg_s_0.m4s\n#EXT-X-MAP:URI=\"init_s_1.mp4\"\n"), std::string::npos) << t;
  EXPECT_EQ(w.lookup_init(1)->view(), "moov-b");
  EXPECT_FALSE(w.lookup_init(2).has_value());
  EXPECT_EQ(w.map_of("init_s_1.mp4"), 1);
  for (std::string_view bad : {"init_s_.mp4", "init_s_-1.mp4", "init_t_1.mp4", "init_s_1.m4s", "init_s_1x.mp4"})
    EXPECT_FALSE(w.map_of(bad).has_value()) << bad;
}

TEST(RenditionWindowLowLatency, ANewRunsFirstPartCarriesTheDiscontinuity) {
  RenditionWindowConfig c = ll_config(6);
  c.first_segment_discontinuity = true;
  c.first_sequence = 100;
  RenditionWindow w(c);
  ASSERT_TRUE(w.add_part(part(100, 0, 0.5, true, kWall), kT0).ok());
  EXPECT_NE(text(w).find("#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME:2024-01-01T00:00:00.000Z\n#EXT-X-PART:DURATION=0.500,URI=\"part_s_100.0.m4s\""),
            std::string::npos)
      << text(w);
  ASSERT_TRUE(w.add_part(part(100, 1, 0.5, false, kWall + 500ms), kT0).ok());
  ASSERT_TRUE(w.add(ingested(seg(100, 1.0), kWall), kT0).ok());
  EXPECT_NE(text(w).find("#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME:2024-01-01T00:00:00.000Z\n#EXT-X-PART"),
            std::string::npos)
      << text(w);
}
