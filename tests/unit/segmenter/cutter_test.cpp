// Cutter decisions on synthetic timelines: cut points, PTS durations, segment
// starts (PAT, PMT, keyframe), audio-only cutting, wrap, discontinuities, bounds
// and the stream facts.
#include <gtest/gtest.h>

#include <numeric>

#include "segmenter/cutter.hpp"
#include "segmenter/pes.hpp"
#include "segmenter/timestamp.hpp"
#include "ts_builder.hpp"

using namespace hlscache;
using namespace hlscache::ts;
using namespace hlscache::testing;
using namespace std::chrono_literals;

namespace {

constexpr std::uint16_t kVideo = 0x100;
constexpr std::uint16_t kAudio = 0x101;
constexpr std::uint16_t kPmt = 0x1000;

struct CutRun {
  std::vector<Segment> segments;
  CutterStats stats;
  StreamFacts facts;
};

CutRun cut(const Bytes& ts, CutterConfig cfg = {}, std::size_t piece = 65536) {
  CutRun r;
  Cutter c(cfg, [&](Segment&& s) { r.segments.push_back(std::move(s)); });
  for (std::size_t at = 0; at < ts.size(); at += piece) c.feed(ts.data() + at, std::min(piece, ts.size() - at));
  c.finish();
  r.stats = c.stats();
  r.facts = c.facts();
  return r;
}

Bytes join(const Segment& s) {
  Bytes b;
  for (const Chunk& c : s.chunks) b.insert(b.end(), c.bytes.get(), c.bytes.get() + c.size);
  return b;
}

std::uint16_t pid_at(const Bytes& b, std::size_t packet) { return packet_pid(b.data() + packet * 188); }

// The elementary-stream bytes of the first PES on `pid` in `b`, and its header.
Bytes first_pes(const Bytes& b, std::uint16_t pid, PesHeader& h) {
  Bytes es;
  bool in = false;
  for (std::size_t at = 0; at + 188 <= b.size(); at += 188) {
    const PacketInfo info = parse_packet(b.data() + at);
    if (info.pid != pid || !info.has_payload) continue;
    if (info.payload_unit_start && in) break;
    if (info.payload_unit_start) in = true;
    if (in) es.insert(es.end(), b.begin() + at + info.payload_offset, b.begin() + at + 188);
  }
  if (parse_pes_header(es.data(), es.size(), h) != PesParse::ok) return {};
  return Bytes(es.begin() + h.header_size, es.end());
}

// PAT, PMT, then the first packet of a PES on `pid` that is a keyframe.
void expect_independent_start(const Segment& s, std::uint16_t pid = kVideo, VideoCodec codec = VideoCodec::h264) {
  const Bytes b = join(s);
  ASSERT_GE(b.size(), 3u * 188) << "segment " << s.sequence;
  EXPECT_EQ(b.size() % 188, 0u);
  EXPECT_EQ(pid_at(b, 0), kPatPid) << "segment " << s.sequence;
  EXPECT_EQ(pid_at(b, 1), kPmt) << "segment " << s.sequence;
  EXPECT_EQ(pid_at(b, 2), pid) << "segment " << s.sequence;
  EXPECT_TRUE(parse_packet(b.data() + 2 * 188).payload_unit_start);
  PesHeader h;
  const Bytes es = first_pes(b, pid, h);
  EXPECT_EQ(h.pts, s.first_pts);
  if (pid == kVideo) {
    NalScanner scan;
    scan.start(codec);
    scan.feed(es.data(), es.size());
    EXPECT_TRUE(scan.keyframe()) << "segment " << s.sequence;
  }
}

}  // namespace

TEST(Cutter, CutsAtTheFirstKeyframeAtOrAfterTheTarget) {
  StreamOptions o;  // 25 fps, keyframe every second, 8 s
  o.frames = 200;
  const CutRun r = cut(make_stream(o));
  ASSERT_EQ(r.segments.size(), 4u);
  for (std::size_t i = 0; i < r.segments.size(); ++i) {
    const Segment& s = r.segments[i];
    EXPECT_EQ(s.sequence, i);
    EXPECT_NEAR(s.duration, 2.0, 1e-9);
    EXPECT_EQ(s.first_pts, o.first_pts + i * 180000);
    EXPECT_TRUE(s.starts_with_keyframe);
    EXPECT_FALSE(s.discontinuity);
    std::uint64_t size = 0;
    for (const Chunk& c : s.chunks) size += c.size;
    EXPECT_EQ(size, s.size);
    expect_independent_start(s);
  }
  EXPECT_EQ(r.stats.segments, 4u);
  EXPECT_EQ(r.stats.keyframes, 8u);
  EXPECT_EQ(r.stats.cc_errors, 0u);
  EXPECT_FALSE(r.stats.gop_exceeds_target());
}

TEST(Cutter, ChunkSizeDoesNotChangeTheOutput) {
  StreamOptions o;
  o.frames = 130;
  const Bytes ts = make_stream(o);
  const CutRun whole = cut(ts, {}, ts.size());
  for (std::size_t piece : {1u, 187u, 189u, 1000u}) {
    const CutRun r = cut(ts, {}, piece);
    ASSERT_EQ(r.segments.size(), whole.segments.size()) << piece;
    for (std::size_t i = 0; i < r.segments.size(); ++i) {
      EXPECT_EQ(join(r.segments[i]), join(whole.segments[i])) << "piece " << piece << " segment " << i;
      EXPECT_EQ(r.segments[i].duration, whole.segments[i].duration);
    }
  }
}

TEST(Cutter, SegmentsAreTheInputPlusTheirPatPmtPrefix) {
  StreamOptions o;
  o.frames = 120;
  const Bytes ts = make_stream(o);
  const CutRun r = cut(ts);
  Bytes rebuilt;
  for (const Segment& s : r.segments) {
    const Bytes b = join(s);
    rebuilt.insert(rebuilt.end(), b.begin() + 2 * 188, b.end());  // drop the re-emitted PAT+PMT
  }
  // The input starts with PAT, PMT, then the first keyframe: nothing else is lost or reordered.
  EXPECT_EQ(rebuilt, Bytes(ts.begin() + 2 * 188, ts.end()));
  EXPECT_EQ(r.stats.bytes_before_start, 2u * 188);
}

TEST(Cutter, FindsIdrWithoutRandomAccessIndicatorEvenPacketsLater) {
  StreamOptions o;
  o.frames = 150;
  o.random_access = false;
  o.sei_bytes = 1000;  // the IDR slice starts ~6 packets into the PES
  o.key_bytes = 500;
  const CutRun r = cut(make_stream(o), {}, 1000);
  ASSERT_EQ(r.segments.size(), 3u);
  for (const Segment& s : r.segments) {
    EXPECT_NEAR(s.duration, 2.0, 1e-9);
    expect_independent_start(s);
  }
}

TEST(Cutter, H265IrapAndFacts) {
  StreamOptions o;
  o.codec = Codec::h265;
  o.random_access = false;
  o.frames = 100;
  o.width = 1920;
  o.height = 1080;
  const CutRun r = cut(make_stream(o));
  ASSERT_EQ(r.segments.size(), 2u);
  for (const Segment& s : r.segments) expect_independent_start(s, kVideo, VideoCodec::h265);
  EXPECT_EQ(r.facts.video_codec, VideoCodec::h265);
  EXPECT_EQ(r.facts.width, 1920);
  EXPECT_EQ(r.facts.height, 1080);
  EXPECT_EQ(r.facts.codecs(), "hvc1.1.6.L93.90,mp4a.40.2");
}

TEST(Cutter, StreamFactsForH264AndAac) {
  StreamOptions o;
  o.frames = 100;
  const CutRun r = cut(make_stream(o));
  EXPECT_TRUE(r.facts.has_video);
  EXPECT_TRUE(r.facts.has_audio);
  EXPECT_EQ(r.facts.width, 640);
  EXPECT_EQ(r.facts.height, 360);
  EXPECT_EQ(r.facts.codecs(), "avc1.64001f,mp4a.40.2");
  // Bit rates: the bytes of the segments over their PTS durations.
  double bits = 0, seconds = 0;
  for (const Segment& s : r.segments) {
    bits += 8.0 * static_cast<double>(s.size);
    seconds += s.duration;
  }
  EXPECT_NEAR(r.facts.average_bitrate, bits / seconds, 1.0);
  EXPECT_GE(r.facts.peak_bitrate, r.facts.average_bitrate);
}

TEST(Cutter, LongGopMakesLongerSegmentsAndIsReported) {
  StreamOptions o;
  o.frames = 300;
  o.gop = 75;  // 3 s keyframe interval, target 2 s
  const CutRun r = cut(make_stream(o));
  ASSERT_EQ(r.segments.size(), 4u);
  for (const Segment& s : r.segments) {
    EXPECT_NEAR(s.duration, 3.0, 1e-9);
    EXPECT_TRUE(s.starts_with_keyframe);
  }
  EXPECT_TRUE(r.stats.gop_exceeds_target());
  EXPECT_EQ(r.stats.keyframe_intervals_over_target, 3u);
  EXPECT_DOUBLE_EQ(r.stats.max_keyframe_interval, 3.0);
  EXPECT_EQ(r.stats.segments_over_target, 4u);
  EXPECT_EQ(r.stats.forced_cuts, 0u);
}

TEST(Cutter, ConfiguredTargetIsHonoured) {
  StreamOptions o;
  o.frames = 300;  // 12 s, keyframe every second
  CutterConfig cfg;
  cfg.target_duration = 4000ms;
  cfg.first_sequence = 100;
  const CutRun r = cut(make_stream(o), cfg);
  ASSERT_EQ(r.segments.size(), 3u);
  EXPECT_EQ(r.segments[0].sequence, 100u);
  EXPECT_EQ(r.segments[2].sequence, 102u);
  for (const Segment& s : r.segments) EXPECT_NEAR(s.duration, 4.0, 1e-9);
}

TEST(Cutter, AudioOnlyIsCutByTime) {
  StreamOptions o;
  o.video = false;
  o.frames = 250;  // 10 s of audio
  const CutRun r = cut(make_stream(o));
  ASSERT_GE(r.segments.size(), 4u);
  for (std::size_t i = 0; i + 1 < r.segments.size(); ++i) {
    const Segment& s = r.segments[i];
    EXPECT_GE(s.duration, 2.0 - 0.001);
    EXPECT_LT(s.duration, 2.1);  // one audio PES (~93 ms) at most past the target
    EXPECT_TRUE(s.starts_with_keyframe);
    expect_independent_start(s, kAudio);
  }
  EXPECT_FALSE(r.facts.has_video);
  EXPECT_EQ(r.facts.codecs(), "mp4a.40.2");
}

TEST(Cutter, DurationsSurviveThePtsWrap) {
  StreamOptions o;
  o.frames = 200;
  o.first_pts = kTimestampModulus - 3 * 90000;  // wraps 3 s in
  const CutRun r = cut(make_stream(o));
  ASSERT_EQ(r.segments.size(), 4u);
  for (const Segment& s : r.segments) {
    EXPECT_NEAR(s.duration, 2.0, 1e-9);
    EXPECT_FALSE(s.discontinuity);
  }
  EXPECT_EQ(r.segments[2].first_pts, 90000u);  // 4 s after start = 1 s past the wrap
  EXPECT_EQ(r.stats.discontinuities, 0u);
}

TEST(Cutter, TimestampJumpBackIsADiscontinuity) {
  StreamOptions o;
  o.frames = 125;  // 5 s: segments 0-2, 2-4, then 4-5 ends at the jump
  Bytes ts = make_stream(o);
  StreamOptions again = o;
  again.frames = 100;
  again.first_pts = 90000;  // earlier than where the first part ended
  Bytes second = make_stream(again);
  std::array<int, 8192> cc;
  cc.fill(-1);
  Bytes all;
  append_retimed(all, ts, 0, cc);
  append_retimed(all, second, 0, cc);  // continuous counters: only the clock jumps
  const CutRun r = cut(all);
  ASSERT_EQ(r.segments.size(), 5u);
  EXPECT_NEAR(r.segments[2].duration, 1.0, 1e-9);  // extrapolated: last PTS + one frame
  EXPECT_FALSE(r.segments[2].discontinuity);
  EXPECT_TRUE(r.segments[3].discontinuity);
  EXPECT_TRUE(r.segments[3].starts_with_keyframe);
  EXPECT_EQ(r.segments[3].first_pts, 90000u);
  EXPECT_FALSE(r.segments[4].discontinuity);
  EXPECT_EQ(r.stats.discontinuities, 1u);
  EXPECT_EQ(r.stats.cc_errors, 0u);
  expect_independent_start(r.segments[3]);
}

TEST(Cutter, LargeForwardGapIsADiscontinuity) {
  StreamOptions o;
  o.frames = 100;
  Bytes ts = make_stream(o);
  std::array<int, 8192> cc;
  cc.fill(-1);
  Bytes all;
  append_retimed(all, ts, 0, cc);
  append_retimed(all, ts, 60 * 90000, cc);  // the encoder stalled for a minute
  const CutRun r = cut(all);
  ASSERT_EQ(r.segments.size(), 4u);
  EXPECT_TRUE(r.segments[2].discontinuity);
  EXPECT_NEAR(r.segments[1].duration, 2.0, 1e-9);
}

TEST(Cutter, DiscontinuityIndicatorFlagsTheSegmentAtTheNextKeyframe) {
  StreamOptions o;
  o.frames = 100;
  Bytes ts = make_stream(o);
  // Set discontinuity_indicator on the PCR packet of frame 30 (not a keyframe).
  int frame = 0;
  for (std::size_t at = 0; at < ts.size(); at += 188) {
    std::uint8_t* p = ts.data() + at;
    if (packet_pid(p) == kVideo && (p[1] & 0x40) != 0 && frame++ == 30) {
      ASSERT_EQ(p[3] & 0x20, 0x20);
      p[5] |= 0x80;
    }
  }
  const CutRun r = cut(ts);
  ASSERT_EQ(r.segments.size(), 2u);
  // Timestamps are continuous, so the cut waits for the keyframe at 2 s, which it flags.
  EXPECT_FALSE(r.segments[0].discontinuity);
  EXPECT_TRUE(r.segments[1].discontinuity);
  EXPECT_NEAR(r.segments[0].duration, 2.0, 1e-9);
}

TEST(Cutter, SignalledDiscontinuityRestartsCleanly) {
  StreamOptions o;
  o.frames = 75;  // 3 s
  const Bytes ts = make_stream(o);
  CutRun r;
  Cutter c({}, [&](Segment&& s) { r.segments.push_back(std::move(s)); });
  c.feed(ts.data(), ts.size());
  c.signal_discontinuity();  // a file loop: same bytes again, same timestamps
  c.feed(ts.data(), ts.size());
  c.finish();
  ASSERT_EQ(r.segments.size(), 4u);
  EXPECT_NEAR(r.segments[0].duration, 2.0, 1e-9);
  EXPECT_NEAR(r.segments[1].duration, 1.0, 1e-9);
  EXPECT_TRUE(r.segments[2].discontinuity);
  EXPECT_EQ(r.segments[2].first_pts, o.first_pts);
  EXPECT_NEAR(r.segments[2].duration, 2.0, 1e-9);
  EXPECT_EQ(c.stats().cc_errors, 0u);  // counters restart with the loop
  EXPECT_EQ(c.stats().discontinuities, 1u);
}

TEST(Cutter, MarkedDiscontinuityFlagsTheNextKeyframesSegmentAndKeepsTheTimeline) {
  StreamOptions o;
  o.frames = 150;  // 6 s, keyframes every second: cuts at 2 s and 4 s
  const Bytes ts = make_stream(o);
  CutRun r;
  Cutter c({}, [&](Segment&& s) { r.segments.push_back(std::move(s)); });
  const std::size_t half = ts.size() * 5 / 12 / 188 * 188;  // ~2.5 s in: mid-segment
  c.feed(ts.data(), half);
  c.mark_discontinuity();  // the source paused here and resumes from now
  c.feed(ts.data() + half, ts.size() - half);
  c.finish();
  ASSERT_EQ(r.segments.size(), 4u);
  // The segment open at the mark closes at the next keyframe (3 s, before its target)
  // and the one after it carries the mark; exactly one, nothing forgotten.
  EXPECT_FALSE(r.segments[0].discontinuity);
  EXPECT_FALSE(r.segments[1].discontinuity);
  EXPECT_NEAR(r.segments[1].duration, 1.0, 1e-9);
  EXPECT_TRUE(r.segments[2].discontinuity);
  EXPECT_TRUE(r.segments[2].starts_with_keyframe);
  EXPECT_EQ(r.segments[2].first_pts, o.first_pts + 3 * 90000);
  EXPECT_FALSE(r.segments[3].discontinuity);
  EXPECT_EQ(c.stats().discontinuities, 1u);
  EXPECT_EQ(c.stats().cc_errors, 0u);
  double total = 0;
  for (const Segment& s : r.segments) total += s.duration;
  EXPECT_NEAR(total, 6.0, 1e-9);
}

TEST(Cutter, MarkBeforeTheFirstSegmentMarksNothing) {
  StreamOptions o;
  o.frames = 75;
  const Bytes ts = make_stream(o);
  CutRun r;
  Cutter c({}, [&](Segment&& s) { r.segments.push_back(std::move(s)); });
  c.mark_discontinuity();
  c.feed(ts.data(), ts.size());
  c.finish();
  ASSERT_FALSE(r.segments.empty());
  for (const Segment& s : r.segments) EXPECT_FALSE(s.discontinuity);
}

// Each packet fed on its own, "arriving" at kT + its index in ms: a segment's ingest
// time is the arrival of its first access unit's first packet (not of the packet that
// decided it was a keyframe, nor of the next keyframe that closed it).
TEST(Cutter, SegmentIngestTimeIsWhenItsFirstAccessUnitArrived) {
  for (const bool late_verdict : {false, true}) {
    SCOPED_TRACE(late_verdict ? "IDR found packets later (no RAI, SEI first)" : "RAI");
    StreamOptions o;
    o.frames = 150;
    o.random_access = !late_verdict;
    o.sei_bytes = late_verdict ? 1500 : 0;
    const Bytes ts = make_stream(o);
    const WallTime kT = std::chrono::sys_days{std::chrono::year{2024} / 1 / 1};
    std::vector<WallTime> keyframe_arrivals;  // the PES start of every video keyframe
    int frame = 0;
    for (std::size_t i = 0; i * 188 < ts.size(); ++i) {
      const PacketInfo info = parse_packet(ts.data() + i * 188);
      if (info.pid == kVideo && info.payload_unit_start && frame++ % o.gop == 0)
        keyframe_arrivals.push_back(kT + std::chrono::milliseconds(i));
    }
    CutRun r;
    Cutter c({}, [&](Segment&& s) { r.segments.push_back(std::move(s)); });
    for (std::size_t i = 0; i * 188 < ts.size(); ++i) c.feed(ts.data() + i * 188, 188, kT + std::chrono::milliseconds(i));
    c.finish();
    ASSERT_EQ(r.segments.size(), 3u);
    for (std::size_t k = 0; k < r.segments.size(); ++k)
      EXPECT_EQ(r.segments[k].ingest_time, keyframe_arrivals[2 * k]) << "segment " << k;
  }
}

TEST(Cutter, CountsContinuityErrorsAndDropsNullPackets) {
  StreamOptions o;
  o.frames = 60;
  TsWriter w;
  Bytes ts = make_stream(o);
  // Corrupt the CC of one video packet in the middle and add null packets.
  std::size_t hit = 0;
  for (std::size_t at = 188 * 40; at < ts.size(); at += 188) {
    if (packet_pid(ts.data() + at) == kVideo && (ts[at + 1] & 0x40) == 0) {
      ts[at + 3] = static_cast<std::uint8_t>((ts[at + 3] & 0xF0) | ((ts[at + 3] + 5) & 0x0F));
      hit = at;
      break;
    }
  }
  ASSERT_NE(hit, 0u);
  w.null_packet();
  w.null_packet();
  ts.insert(ts.begin() + 188 * 50, w.out.begin(), w.out.end());
  const CutRun r = cut(ts);
  EXPECT_EQ(r.stats.cc_errors, 2u);  // into the bad packet and out of it
  EXPECT_EQ(r.stats.null_packets, 2u);
  for (const Segment& s : r.segments) {
    const Bytes b = join(s);
    for (std::size_t i = 0; i < b.size() / 188; ++i) EXPECT_NE(pid_at(b, i), kNullPid);
  }
}

TEST(Cutter, ResyncsAfterGarbageAndKeepsCutting) {
  StreamOptions o;
  o.frames = 200;
  Bytes ts = make_stream(o);
  const Bytes garbage(77, 0x5A);
  ts.insert(ts.begin() + 188 * 300, garbage.begin(), garbage.end());
  const CutRun r = cut(ts, {}, 4096);
  EXPECT_EQ(r.stats.sync_losses, 1u);
  EXPECT_EQ(r.stats.resyncs, 1u);
  EXPECT_EQ(r.stats.bytes_skipped, 77u);
  ASSERT_EQ(r.segments.size(), 4u);
  for (const Segment& s : r.segments) EXPECT_NEAR(s.duration, 2.0, 1e-9);
}

TEST(Cutter, MissingKeyframesForceACutAtTheDurationBound) {
  StreamOptions o;
  o.frames = 250;
  o.gop = 1000;  // one keyframe at the start, never again
  CutterConfig cfg;
  cfg.max_segment_duration = 4000ms;
  const CutRun r = cut(make_stream(o), cfg);
  ASSERT_EQ(r.segments.size(), 3u);
  EXPECT_TRUE(r.segments[0].starts_with_keyframe);
  EXPECT_FALSE(r.segments[1].starts_with_keyframe);
  EXPECT_NEAR(r.segments[0].duration, 4.0, 1e-9);
  EXPECT_EQ(r.stats.forced_cuts, 2u);
}

TEST(Cutter, SegmentBytesAreBounded) {
  StreamOptions o;
  o.frames = 100;
  CutterConfig cfg;
  cfg.max_segment_bytes = 64 * 1024;
  cfg.chunk_capacity = 16 * 1024;
  const CutRun r = cut(make_stream(o), cfg);
  EXPECT_GT(r.stats.forced_cuts, 0u);
  for (const Segment& s : r.segments) {
    EXPECT_LE(s.size, cfg.max_segment_bytes);
    EXPECT_LE(s.chunks.size(), 4u);
  }
}

TEST(Cutter, NothingBeforeTheFirstKeyframeIsEmitted) {
  StreamOptions o;
  o.frames = 112;
  Bytes ts = make_stream(o);
  // Start listening mid-GOP: drop everything before frame 12.
  std::size_t at = 0;
  int frame = 0;
  for (; at < ts.size(); at += 188) {
    if (packet_pid(ts.data() + at) == kVideo && (ts[at + 1] & 0x40) != 0 && frame++ == 12) break;
  }
  const Bytes tail(ts.begin() + static_cast<std::ptrdiff_t>(at), ts.end());
  const CutRun r = cut(tail);
  ASSERT_EQ(r.segments.size(), 2u);
  EXPECT_EQ(r.segments[0].first_pts, o.first_pts + 25 * 3600);
  EXPECT_GT(r.stats.bytes_before_start, 0u);
  for (const Segment& s : r.segments) expect_independent_start(s);
}
