// EsDemuxer (whole PES payloads back from TS packets, lost packets, any chunking)
// and CmafMuxer on synthetic streams: part and segment cuts, sample durations and
// composition offsets, tfdt continuity across fragments, audio placement, audio-only
// and H.265 programs, a late first keyframe, timestamp jumps and new init segments.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "mp4_reader.hpp"
#include "segmenter/cmaf_muxer.hpp"
#include "segmenter/es_demuxer.hpp"
#include "segmenter/fmp4_codec.hpp"
#include "segmenter/timestamp.hpp"
#include "ts_builder.hpp"

using namespace hlscache;
using namespace hlscache::ts;
using namespace hlscache::testing;
using namespace std::chrono_literals;

namespace {

constexpr std::uint16_t kVideo = 0x100;
constexpr std::uint16_t kAudio = 0x101;

std::vector<EsPacket> demux(const Bytes& ts, std::size_t piece, EsDemuxerStats* stats = nullptr) {
  std::vector<EsPacket> out;
  EsDemuxer d([&](EsPacket&& p) { out.push_back(std::move(p)); });
  for (std::size_t at = 0; at < ts.size(); at += piece) d.feed(ts.data() + at, std::min(piece, ts.size() - at));
  d.flush();
  if (stats != nullptr) *stats = d.stats();
  return out;
}

struct MuxRun {
  std::vector<CmafPart> parts;
  CmafStats stats;
};

MuxRun mux(const Bytes& ts, CmafConfig cfg, std::size_t piece = 65536) {
  MuxRun r;
  CmafMuxer m(cfg, [&](CmafPart&& p) { r.parts.push_back(std::move(p)); });
  for (std::size_t at = 0; at < ts.size(); at += piece) m.feed(ts.data() + at, std::min(piece, ts.size() - at));
  m.finish();
  r.stats = m.stats();
  return r;
}

CmafConfig config(std::chrono::milliseconds part = 330ms, std::chrono::milliseconds segment = 1000ms) {
  CmafConfig c;
  c.part_target = part;
  c.segment_target = segment;
  return c;
}

// What one traf of a fragment says.
struct TrackRun {
  std::uint64_t tfdt = 0;
  std::uint64_t duration = 0;  // sum of the sample durations
  std::vector<Mp4TrunSample> samples;
};

// Track ID -> its run, from a part's bytes (an optional styp, then moof + mdat).
std::map<std::uint32_t, TrackRun> runs_of(const std::string& part) {
  std::map<std::uint32_t, TrackRun> out;
  const std::vector<Mp4Box> top = mp4_boxes(part);
  for (const Mp4Box& b : top) {
    if (b.type != "moof") continue;
    for (const Mp4Box& traf : mp4_all(b, "traf")) {
      Mp4Fields tfhd(mp4_all(traf, "tfhd").at(0).payload);
      tfhd.skip(4);
      const std::uint32_t id = tfhd.u32();
      Mp4Fields tfdt(mp4_all(traf, "tfdt").at(0).payload);
      tfdt.skip(4);
      TrackRun r;
      r.tfdt = tfdt.u64();
      r.samples = mp4_read_trun(mp4_all(traf, "trun").at(0)).samples;
      for (const Mp4TrunSample& s : r.samples) r.duration += s.duration;
      out[id] = r;
    }
  }
  return out;
}

// The handler types of the init segment's tracks, in track order ("vide", "soun"),
// and the sample entry types ("avc1", "mp4a").
std::vector<std::string> entries_of(const std::string& init) {
  std::vector<std::string> out;
  const auto moov = mp4_find(init, {"moov"});
  if (!moov) return out;
  for (const Mp4Box& trak : mp4_all(*moov, "trak")) {
    const std::string_view t(init.data() + trak.offset, trak.size);
    const auto stsd = mp4_find(t, {"trak", "mdia", "minf", "stbl", "stsd"});
    out.push_back(mp4_children(*stsd).at(0).type);
  }
  return out;
}

// Each track's runs follow on without a gap or overlap: tfdt(n + 1) = tfdt(n) + durations(n).
void expect_continuous(const std::vector<CmafPart>& parts, std::uint32_t track) {
  bool have = false;
  std::uint64_t next = 0;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const auto runs = runs_of(parts[i].bytes);
    const auto it = runs.find(track);
    if (it == runs.end()) continue;
    if (have && !parts[i].discontinuity) {
      EXPECT_EQ(it->second.tfdt, next) << "track " << track << ", part " << i;
    }
    next = it->second.tfdt + it->second.duration;
    have = true;
  }
}

std::size_t adts_frames_in(const Bytes& ts) {
  std::size_t n = 0;
  for (const EsPacket& p : demux(ts, 65536)) {
    if (p.kind != EsKind::audio) continue;
    std::size_t skipped = 0;
    n += fmp4::split_adts(p.payload, skipped).size();
  }
  return n;
}

struct Frame {
  std::uint64_t pts;
  std::uint64_t dts;
  bool key;
};

// A video-only H.264 program from explicit timestamps (with DTS), parameter sets on keyframes.
Bytes video_stream(const std::vector<Frame>& frames, int width = 640, int height = 360) {
  TsWriter w;
  for (const Frame& f : frames) {
    if (f.key || &f == &frames.front()) {
      w.pat();
      w.pmt({{0x1B, kVideo}}, kVideo);
    }
    AccessUnitOptions au;
    au.keyframe = f.key;
    au.parameter_sets = f.key;
    au.slice_bytes = f.key ? 3000 : 500;
    au.width = width;
    au.height = height;
    PesOptions po;
    po.random_access = f.key;
    po.with_pcr = true;
    po.pcr = f.dts - 1000;
    po.with_dts = true;
    po.pts = f.pts;
    po.dts = f.dts;
    w.pes(kVideo, access_unit(au), po);
  }
  return std::move(w.out);
}

// 25 fps H.264 from 900000 and, if `audio_lag_frames` >= 0, AAC (one ADTS frame a
// PES) muxed that many video frames behind the video it plays with, as ffmpeg's
// muxer does; with a negative lag the PMT announces audio that never comes.
Bytes late_audio_stream(int frames, int audio_lag_frames) {
  TsWriter w;
  const std::vector<EsInfo> streams = {{0x1B, kVideo}, {0x0F, kAudio}};
  const double aac_ticks = 1024.0 * 90'000 / 44'100;
  double audio_pts = 900'000;
  for (int i = 0; i < frames; ++i) {
    const std::uint64_t pts = 900'000 + static_cast<std::uint64_t>(i) * 3600;
    const bool key = i % 25 == 0;
    if (key) {
      w.pat();
      w.pmt(streams, kVideo);
    }
    AccessUnitOptions au;
    au.keyframe = key;
    au.parameter_sets = key;
    PesOptions po;
    po.pts = pts;
    po.with_pcr = true;
    po.pcr = pts - 3600;
    w.pes(kVideo, access_unit(au), po);
    const int behind = i - audio_lag_frames;
    while (audio_lag_frames >= 0 && behind >= 0 && audio_pts < 900'000 + (behind + 1) * 3600.0) {
      PesOptions ao;
      ao.stream_id = 0xC0;
      ao.pts = static_cast<std::uint64_t>(std::llround(audio_pts));
      w.pes(kAudio, adts_frame(100), ao);
      audio_pts += aac_ticks;
    }
  }
  return std::move(w.out);
}

}  // namespace

TEST(EsDemuxer, HandsOutEachPesPayloadWithItsTimestampsWhateverTheChunking) {
  StreamOptions o;
  o.frames = 10;
  o.key_bytes = 2000;
  o.frame_bytes = 700;
  const Bytes ts = make_stream(o);
  EsDemuxerStats stats;
  const std::vector<EsPacket> whole = demux(ts, ts.size(), &stats);
  std::size_t video = 0, audio = 0;
  for (const EsPacket& p : whole) {
    if (p.kind == EsKind::video) {
      ASSERT_TRUE(p.has_pts);
      EXPECT_EQ(p.pts, o.first_pts + video * 3600);
      EXPECT_EQ(p.dts, p.pts);
      AccessUnitOptions au;
      au.keyframe = video == 0;
      au.parameter_sets = video == 0;
      au.slice_bytes = video == 0 ? 2000 : 700;
      EXPECT_EQ(p.payload, access_unit(au)) << video;
      ++video;
    } else {
      EXPECT_EQ(p.payload.size(), 4u * (7 + 300));  // four ADTS frames per PES
      EXPECT_EQ(p.payload[0], 0xFF);
      ++audio;
    }
  }
  EXPECT_EQ(video, 10u);
  EXPECT_GE(audio, 4u);
  EXPECT_EQ(stats.dropped, 0u);
  EXPECT_EQ(stats.packets, whole.size());

  for (std::size_t piece : {1u, 7u, 188u, 1000u}) {
    const std::vector<EsPacket> pieces = demux(ts, piece);
    ASSERT_EQ(pieces.size(), whole.size()) << piece;
    for (std::size_t i = 0; i < whole.size(); ++i) {
      EXPECT_EQ(pieces[i].payload, whole[i].payload) << piece << "/" << i;
      EXPECT_EQ(pieces[i].pts, whole[i].pts);
    }
  }
}

TEST(EsDemuxer, APesThatLostAPacketIsDroppedAndTheNextOneIsKept) {
  TsWriter w;
  w.pat();
  w.pmt({{0x1B, kVideo}}, kVideo);
  PesOptions po;
  po.pts = 1000;
  AccessUnitOptions au;
  au.slice_bytes = 1000;  // six packets
  w.pes(kVideo, access_unit(au), po);
  const std::size_t second_packet_of_first_pes = 3 * 188;
  w.out.erase(w.out.begin() + static_cast<std::ptrdiff_t>(second_packet_of_first_pes),
              w.out.begin() + static_cast<std::ptrdiff_t>(second_packet_of_first_pes + 188));
  po.pts = 4600;
  w.pes(kVideo, access_unit(au), po);
  EsDemuxerStats stats;
  const std::vector<EsPacket> out = demux(w.out, 65536, &stats);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].pts, 4600u);
  EXPECT_EQ(out[0].payload, access_unit(au));
  EXPECT_EQ(stats.dropped, 1u);
  EXPECT_EQ(stats.cc_errors, 1u);
}

TEST(CmafMuxer, CutsPartsWithinTheTargetAndSegmentsAtKeyframes) {
  StreamOptions o;  // 25 fps, a keyframe every second, AAC at 44.1 kHz, 4 s
  o.frames = 100;
  const Bytes ts = make_stream(o);
  const MuxRun r = mux(ts, config());
  ASSERT_FALSE(r.parts.empty());
  ASSERT_TRUE(r.parts[0].init);
  EXPECT_EQ(entries_of(*r.parts[0].init), (std::vector<std::string>{"avc1", "mp4a"}));

  // 25 frames a segment: parts of 8 frames (320 ms; 9 would be 360 > 330), 8, 8, 1.
  ASSERT_EQ(r.parts.size(), 16u);
  std::size_t video = 0, audio = 0;
  for (std::size_t i = 0; i < r.parts.size(); ++i) {
    const CmafPart& p = r.parts[i];
    EXPECT_EQ(p.init, r.parts[0].init) << "one init segment";
    EXPECT_EQ(p.starts_segment, i % 4 == 0) << i;
    // Known to end its segment when the cut was made at the keyframe (finish() cuts the last).
    EXPECT_EQ(p.ends_segment, i % 4 == 3 && i + 1 < r.parts.size()) << i;
    EXPECT_EQ(p.independent, i % 4 == 0) << i;
    EXPECT_FALSE(p.discontinuity);
    EXPECT_EQ(p.video_samples, i % 4 == 3 ? 1u : 8u) << i;
    EXPECT_LE(p.duration, 0.330) << i;
    EXPECT_NEAR(p.duration, static_cast<double>(p.video_samples) / 25, 1e-9) << i;
    EXPECT_EQ(mp4_boxes(p.bytes).front().type, p.starts_segment ? "styp" : "moof");
    const auto runs = runs_of(p.bytes);
    ASSERT_TRUE(runs.count(1));
    const TrackRun& v = runs.at(1);
    EXPECT_EQ(v.samples.size(), p.video_samples);
    EXPECT_EQ(v.samples.front().flags, p.independent ? 0x02000000u : 0x01010000u);
    for (const Mp4TrunSample& s : v.samples) EXPECT_EQ(s.duration, 3600u) << "the last one too: one frame";
    EXPECT_EQ(v.tfdt, o.first_pts + video * 3600) << i;
    video += p.video_samples;
    audio += p.audio_samples;
    if (runs.count(2)) {
      for (const Mp4TrunSample& s : runs.at(2).samples) EXPECT_EQ(s.duration, 1024u);
      // Audio goes with the video it starts in: never later than this part's end.
      EXPECT_LT(runs.at(2).tfdt * 90'000 / 44'100, v.tfdt + v.duration) << i;
    }
  }
  EXPECT_EQ(video, 100u);
  EXPECT_EQ(audio, adts_frames_in(ts));
  EXPECT_EQ(runs_of(r.parts[0].bytes).at(2).tfdt, 441'000u) << "900000 ticks of 90 kHz at 44.1 kHz";
  expect_continuous(r.parts, 1);
  expect_continuous(r.parts, 2);
  EXPECT_EQ(r.stats.parts, 16u);
  EXPECT_EQ(r.stats.segments, 4u);
  EXPECT_EQ(r.stats.init_segments, 1u);
  EXPECT_EQ(r.stats.audio_dropped, 0u);
  EXPECT_EQ(r.stats.audio_gaps, 0u) << "PTS rounding is absorbed by the frame count";
  EXPECT_EQ(r.stats.video_before_start, 0u);
}

TEST(CmafMuxer, AWholeSegmentIsItsPartsInOrderWithOneFragmentEach) {
  StreamOptions o;
  o.frames = 50;
  const MuxRun r = mux(make_stream(o), config(200ms, 2000ms));
  std::size_t segments = 0;
  std::uint32_t sequence = 0;
  for (const CmafPart& p : r.parts) {
    if (p.starts_segment) ++segments;
    const std::vector<Mp4Box> top = mp4_boxes(p.bytes);
    ASSERT_EQ(top.size(), p.starts_segment ? 3u : 2u);
    EXPECT_EQ(top[top.size() - 2].type, "moof");
    EXPECT_EQ(top.back().type, "mdat");
    Mp4Fields mfhd(mp4_all(top[top.size() - 2], "mfhd").at(0).payload);
    mfhd.skip(4);
    EXPECT_EQ(mfhd.u32(), ++sequence);
    EXPECT_LE(p.duration, 0.200);
  }
  EXPECT_EQ(segments, 1u) << "2 s of frames, a keyframe every second: the second one is at 1 s < 2 s";
}

TEST(CmafMuxer, BFramesGetCompositionOffsetsAndDurationsFromDts) {
  // Decode order I0 P3 B1 B2 P6 B4 B5 ..., 25 fps; DTS two frames behind the I frame's PTS.
  std::vector<Frame> frames;
  const std::uint64_t base = 180'000;
  frames.push_back({base, base - 7200, true});
  for (int g = 0; g < 8; ++g) {
    const std::uint64_t p = base + (3 * g + 3) * 3600;
    frames.push_back({p, 0, false});
    frames.push_back({p - 7200, 0, false});
    frames.push_back({p - 3600, 0, false});
  }
  for (std::size_t i = 0; i < frames.size(); ++i) frames[i].dts = base - 7200 + i * 3600;
  const MuxRun r = mux(video_stream(frames), config(2000ms, 2000ms));
  ASSERT_EQ(r.parts.size(), 1u);
  EXPECT_EQ(entries_of(*r.parts[0].init), (std::vector<std::string>{"avc1"}));
  const TrackRun v = runs_of(r.parts[0].bytes).at(1);
  EXPECT_EQ(v.tfdt, base - 7200);
  ASSERT_EQ(v.samples.size(), frames.size());
  for (std::size_t i = 0; i < frames.size(); ++i) {
    EXPECT_EQ(v.samples[i].duration, 3600u) << i;
    EXPECT_EQ(v.samples[i].composition_offset, static_cast<std::int64_t>(frames[i].pts - frames[i].dts)) << i;
  }
}

TEST(CmafMuxer, FramesBeforeTheFirstKeyframeAreDropped) {
  std::vector<Frame> frames;
  for (int i = 0; i < 40; ++i) {
    const std::uint64_t t = 90'000 + i * 3600;
    frames.push_back({t, t, i == 5 || i == 30});
  }
  const MuxRun r = mux(video_stream(frames), config());
  EXPECT_EQ(r.stats.video_before_start, 5u);
  ASSERT_FALSE(r.parts.empty());
  EXPECT_TRUE(r.parts[0].independent);
  EXPECT_EQ(runs_of(r.parts[0].bytes).at(1).tfdt, 90'000u + 5 * 3600);
  std::size_t video = 0;
  for (const CmafPart& p : r.parts) video += p.video_samples;
  EXPECT_EQ(video, 35u);
}

TEST(CmafMuxer, AudioOnlyProgramIsCutOnAudioFrames) {
  StreamOptions o;
  o.video = false;
  o.frames = 100;  // 4 s of audio
  const Bytes ts = make_stream(o);
  const MuxRun r = mux(ts, config());
  ASSERT_FALSE(r.parts.empty());
  EXPECT_EQ(entries_of(*r.parts[0].init), (std::vector<std::string>{"mp4a"}));
  std::size_t audio = 0;
  for (std::size_t i = 0; i < r.parts.size(); ++i) {
    const CmafPart& p = r.parts[i];
    EXPECT_TRUE(p.independent);
    EXPECT_EQ(p.video_samples, 0u);
    EXPECT_LE(p.duration, 0.330);
    // 14 frames of 1024 samples at 44.1 kHz = 325 ms (15 would be 348).
    if (i + 1 < r.parts.size() && !r.parts[i + 1].starts_segment) {
      EXPECT_EQ(p.audio_samples, 14u) << i;
    }
    audio += p.audio_samples;
  }
  EXPECT_EQ(audio, adts_frames_in(ts));
  EXPECT_EQ(r.parts[0].audio_samples, 14u);
  EXPECT_TRUE(r.parts[0].starts_segment);
  EXPECT_EQ(runs_of(r.parts[0].bytes).at(1).tfdt, 441'000u);
  expect_continuous(r.parts, 1);
  // Segments of 1 s: 44 frames (43 are 0.998 s, short of the target).
  std::size_t in_segment = 0;
  for (std::size_t i = 0; i < r.parts.size(); ++i) {
    if (r.parts[i].starts_segment && i > 0) {
      EXPECT_EQ(in_segment, 44u);
      in_segment = 0;
    }
    in_segment += r.parts[i].audio_samples;
  }
}

TEST(CmafMuxer, ALostAudioPesIsAHoleTheFrameBeforeIsStretchedOver) {
  StreamOptions o;
  o.frames = 50;
  const Bytes whole = make_stream(o);
  // Drop the packets of the fifth audio PES: four ADTS frames.
  Bytes ts;
  int audio_pes = 0;
  for (std::size_t at = 0; at < whole.size(); at += 188) {
    const std::uint8_t* p = whole.data() + at;
    if (packet_pid(p) == kAudio && (p[1] & 0x40) != 0) ++audio_pes;
    if (packet_pid(p) == kAudio && audio_pes == 5) continue;
    ts.insert(ts.end(), p, p + 188);
  }
  const MuxRun r = mux(ts, config());
  EXPECT_EQ(r.stats.audio_gaps, 1u);
  EXPECT_EQ(r.stats.audio_dropped, 0u);
  std::size_t audio = 0;
  std::uint32_t stretched = 0;
  for (const CmafPart& p : r.parts) {
    audio += p.audio_samples;
    const auto runs = runs_of(p.bytes);
    if (!runs.count(2)) continue;
    for (const Mp4TrunSample& s : runs.at(2).samples) {
      if (s.duration != 1024) stretched = s.duration;
    }
  }
  EXPECT_EQ(audio, adts_frames_in(whole) - 4);
  EXPECT_EQ(stretched, 5u * 1024) << "its own and the four lost frames' time";
  expect_continuous(r.parts, 2);
}

TEST(CmafMuxer, DecodeTimesRunOnPastThe33BitWrap) {
  StreamOptions o;
  o.frames = 100;
  o.first_pts = kTimestampModulus - 90'000;  // the TS clock wraps 1 s in
  const MuxRun r = mux(make_stream(o), config());
  EXPECT_EQ(r.stats.timestamp_jumps, 0u);
  EXPECT_EQ(r.stats.audio_gaps, 0u);
  ASSERT_FALSE(r.parts.empty());
  expect_continuous(r.parts, 1);
  expect_continuous(r.parts, 2);
  const TrackRun last = runs_of(r.parts.back().bytes).at(1);
  EXPECT_EQ(last.tfdt + last.duration, o.first_pts + 100 * 3600) << "64-bit tfdt, beyond 2^33";
  std::size_t video = 0;
  for (const CmafPart& p : r.parts) video += p.video_samples;
  EXPECT_EQ(video, 100u);
}

TEST(CmafMuxer, AProgramThatGainsOrLosesItsVideoStartsOverOnTheOtherTimeline) {
  // Radio, TV, radio, TV: 2 s each, one timeline of timestamps, the PMT changing at each switch.
  std::array<int, 8192> cc;
  cc.fill(-1);
  Bytes ts;
  std::uint64_t first_pts[4];
  for (int i = 0; i < 4; ++i) {
    StreamOptions o;
    o.video = i % 2 == 1;
    o.frames = 50;
    o.first_pts = 900'000 + static_cast<std::uint64_t>(i) * 50 * 3600;
    first_pts[i] = o.first_pts;
    append_retimed(ts, make_stream(o), 0, cc);
  }
  const MuxRun r = mux(ts, config());
  ASSERT_FALSE(r.parts.empty());
  EXPECT_EQ(entries_of(*r.parts.front().init), (std::vector<std::string>{"mp4a"}));
  std::vector<std::size_t> switches;
  std::size_t video = 0;
  for (std::size_t i = 0; i < r.parts.size(); ++i) {
    video += r.parts[i].video_samples;
    if (i == 0 || r.parts[i].init == r.parts[i - 1].init) continue;
    switches.push_back(i);
    EXPECT_TRUE(r.parts[i].starts_segment);
    EXPECT_TRUE(r.parts[i].discontinuity) << "other tracks: RFC 8216 §4.3.2.3 MUST";
    EXPECT_TRUE(r.parts[i].independent);
  }
  ASSERT_EQ(switches.size(), 3u);
  for (std::size_t k = 0; k < 3; ++k) {
    const CmafPart& p = r.parts[switches[k]];
    const bool tv = k % 2 == 0;
    EXPECT_EQ(entries_of(*p.init), tv ? (std::vector<std::string>{"avc1", "mp4a"}) : (std::vector<std::string>{"mp4a"}));
    if (tv) {
      EXPECT_EQ(runs_of(p.bytes).at(1).tfdt, first_pts[k + 1]);
    }
  }
  EXPECT_EQ(video, 100u);
}

TEST(CmafMuxer, H265ProgramGetsAnHvc1SampleEntry) {
  StreamOptions o;
  o.codec = Codec::h265;
  o.audio = false;
  o.frames = 50;
  const MuxRun r = mux(make_stream(o), config());
  ASSERT_FALSE(r.parts.empty());
  const std::string& init = *r.parts[0].init;
  EXPECT_EQ(entries_of(init), (std::vector<std::string>{"hvc1"}));
  EXPECT_TRUE(mp4_find(init, {"moov", "trak", "mdia", "minf", "stbl", "stsd", "hvc1", "hvcC"}));
  std::size_t video = 0;
  for (const CmafPart& p : r.parts) video += p.video_samples;
  EXPECT_EQ(video, 50u);
  EXPECT_EQ(r.stats.segments, 2u);
}

TEST(CmafMuxer, ATimestampJumpStartsADiscontinuousSegment) {
  StreamOptions o;
  o.audio = false;
  o.frames = 50;
  Bytes ts = make_stream(o);
  std::array<int, 8192> cc;
  cc.fill(-1);
  Bytes joined;
  append_retimed(joined, ts, 0, cc);
  append_retimed(joined, ts, 3600 * 90'000, cc);  // the same two seconds, an hour later
  const MuxRun r = mux(joined, config());
  EXPECT_EQ(r.stats.timestamp_jumps, 1u);
  std::size_t discontinuities = 0;
  for (std::size_t i = 0; i < r.parts.size(); ++i) {
    if (!r.parts[i].discontinuity) continue;
    ++discontinuities;
    EXPECT_TRUE(r.parts[i].starts_segment);
    EXPECT_EQ(runs_of(r.parts[i].bytes).at(1).tfdt, o.first_pts + std::uint64_t{3600} * 90'000);
    const auto before = runs_of(r.parts[i - 1].bytes).at(1);
    EXPECT_EQ(before.tfdt + before.duration, o.first_pts + 50 * 3600) << "the last frame keeps one frame's duration";
  }
  EXPECT_EQ(discontinuities, 1u);
  expect_continuous(r.parts, 1);
}

TEST(CmafMuxer, NewParameterSetsAtAKeyframeStartASegmentWithANewInit) {
  StreamOptions a;
  a.audio = false;
  a.frames = 50;
  StreamOptions b = a;
  b.width = 320;
  b.height = 180;
  b.first_pts = a.first_pts + 50 * 3600;
  std::array<int, 8192> cc;
  cc.fill(-1);
  Bytes ts;
  append_retimed(ts, make_stream(a), 0, cc);
  append_retimed(ts, make_stream(b), 0, cc);
  const MuxRun r = mux(ts, config(330ms, 2000ms));
  EXPECT_EQ(r.stats.init_segments, 2u);
  std::size_t changes = 0;
  for (std::size_t i = 1; i < r.parts.size(); ++i) {
    if (r.parts[i].init == r.parts[i - 1].init) continue;
    ++changes;
    EXPECT_TRUE(r.parts[i].starts_segment);
    EXPECT_TRUE(r.parts[i].discontinuity) << "new encoding parameters (RFC 8216 §4.3.2.3: SHOULD)";
    Mp4Fields avc1(mp4_find(*r.parts[i].init, {"moov", "trak", "mdia", "minf", "stbl", "stsd", "avc1"})->payload);
    avc1.skip(24);
    EXPECT_EQ(avc1.u16(), 320);
    EXPECT_EQ(avc1.u16(), 180);
    EXPECT_EQ(runs_of(r.parts[i].bytes).at(1).tfdt, b.first_pts);
  }
  EXPECT_EQ(changes, 1u);
  expect_continuous(r.parts, 1);
}

TEST(CmafMuxer, LateAudioDelaysTheFirstPartsButNotTheirCuts) {
  const Bytes ts = late_audio_stream(50, 12);  // the first ADTS header comes with the 13th picture
  const MuxRun r = mux(ts, config());
  ASSERT_FALSE(r.parts.empty());
  EXPECT_EQ(entries_of(*r.parts[0].init), (std::vector<std::string>{"avc1", "mp4a"}));
  std::size_t audio = 0;
  for (const CmafPart& p : r.parts) {
    EXPECT_LE(p.duration, 0.330);
    EXPECT_EQ(p.init, r.parts[0].init);
    audio += p.audio_samples;
  }
  EXPECT_EQ(r.parts[0].video_samples, 8u);
  EXPECT_EQ(runs_of(r.parts[0].bytes).at(2).tfdt, 441'000u) << "the audio from the first picture on";
  EXPECT_EQ(audio, adts_frames_in(ts));
  expect_continuous(r.parts, 1);
  expect_continuous(r.parts, 2);
  EXPECT_EQ(r.stats.init_segments, 1u);
}

TEST(CmafMuxer, AnnouncedAudioThatNeverComesIsWaitedForOneSegmentTarget) {
  const Bytes ts = late_audio_stream(50, -1);
  std::vector<CmafPart> parts;
  CmafMuxer m(config(330ms, 1000ms), [&](CmafPart&& p) { parts.push_back(std::move(p)); });
  // Fed picture by picture (each PES is whole packets): nothing comes out before
  // the video has run a segment target, then every part cut so far at once.
  std::size_t at = 0;
  int pictures = 0;
  std::size_t parts_at_0_9_s = 0;
  while (at < ts.size()) {
    const std::size_t end = std::min(ts.size(), at + 188);
    if (packet_pid(ts.data() + at) == kVideo && (ts[at + 1] & 0x40) != 0 && ++pictures == 24) {
      parts_at_0_9_s = parts.size();  // the 23rd picture (0.92 s) was handed on at this PES start
    }
    m.feed(ts.data() + at, end - at);
    at = end;
  }
  m.finish();
  EXPECT_EQ(parts_at_0_9_s, 0u);
  ASSERT_FALSE(parts.empty());
  EXPECT_EQ(entries_of(*parts[0].init), (std::vector<std::string>{"avc1"})) << "video only after the wait";
  std::size_t video = 0;
  for (const CmafPart& p : parts) {
    EXPECT_LE(p.duration, 0.330);
    video += p.video_samples;
  }
  EXPECT_EQ(video, 50u);
}
