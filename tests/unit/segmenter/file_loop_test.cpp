// FileLoop on a synthetic file (25 fps video, ADTS AAC at 44.1 kHz in 4-frame PES):
// the loop duration measured on pass 0 (the ADTS frames counted, rounded up), the
// passes rewritten into one stream (per PID strictly increasing DTS, audio without
// overlap, increasing PCR, continuous counters), the cutter seeing no seam, and the
// pacing arithmetic: per pass, EXTINF and the pacer's wall schedule both advance by
// exactly the loop duration. (tests/unit/segmenter/ffmpeg_test.cpp does the same on
// an ffmpeg encode and lets ffmpeg decode it.)
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <optional>

#include "segmenter/cutter.hpp"
#include "segmenter/file_loop.hpp"
#include "segmenter/realtime_pacer.hpp"
#include "segmenter/timestamp.hpp"
#include "segmenter/timestamp_rewriter.hpp"
#include "ts_builder.hpp"

using namespace hlscache;
using namespace hlscache::ts;
using namespace hlscache::testing;

namespace {

constexpr std::uint16_t kVideo = 0x100;
constexpr std::uint16_t kAudio = 0x101;
constexpr std::size_t kBlock = 100 * 188;  // as run_file_source reads

// The synthetic stream's audio end, by make_stream's own arithmetic: PES of 4 ADTS
// frames (1024 samples at 44.1 kHz) while the audio clock is before the video's end.
std::int64_t expected_loop_duration(const StreamOptions& o) {
  const double frame = 90000.0 / o.fps;
  const double pes = 4 * 1024.0 * 90000.0 / 44100.0;
  const double video_end = static_cast<double>(o.first_pts) + (o.frames - 1) * frame + frame;
  std::int64_t last = 0;
  for (double a = static_cast<double>(o.first_pts); a < video_end; a += pes) last = std::llround(a);
  const std::int64_t pes_ticks = (4 * 1024 * 90000 + 44100 - 1) / 44100;  // 8360: rounded up
  const std::int64_t audio = last + pes_ticks - static_cast<std::int64_t>(o.first_pts);
  const auto video = static_cast<std::int64_t>(o.frames * frame);
  return std::max(audio, video);
}

// `passes` passes of `file` through a FileLoop, read in the source's block size.
Bytes loop(const Bytes& file, int passes, FileLoop& fl) {
  Bytes out;
  for (int pass = 0; pass < passes; ++pass) {
    if (pass > 0) {
      EXPECT_TRUE(fl.next_loop());
    }
    for (std::size_t at = 0; at < file.size(); at += kBlock) {
      const std::size_t n = std::min(kBlock, file.size() - at);
      Bytes block(file.begin() + static_cast<std::ptrdiff_t>(at), file.begin() + static_cast<std::ptrdiff_t>(at + n));
      fl.process(block.data(), block.size());
      out.insert(out.end(), block.begin(), block.end());
    }
  }
  return out;
}

struct Pes {
  std::uint64_t pts, dts;
};

std::map<std::uint16_t, std::vector<Pes>> pes_headers(const Bytes& b) {
  std::map<std::uint16_t, std::vector<Pes>> out;
  for (std::size_t at = 0; at + 188 <= b.size(); at += 188) {
    const PacketInfo info = parse_packet(b.data() + at);
    if (!info.payload_unit_start || !info.has_payload || info.pid == 0 || info.pid == 0x1000) continue;
    PesHeader h;
    if (parse_pes_header(b.data() + at + info.payload_offset, 188 - info.payload_offset, h) == PesParse::ok)
      out[info.pid].push_back({h.pts, h.dts});
  }
  return out;
}

}  // namespace

TEST(FileLoop, LoopDurationIsTheLongestStreamToTheEndOfItsLastFrame) {
  StreamOptions o;  // 100 frames: video 4 s; audio PES of 4 frames run past the video's end
  const Bytes file = make_stream(o);
  LoopSpan span;
  for (std::size_t at = 0; at < file.size(); at += kBlock) span.observe(file.data() + at, std::min(kBlock, file.size() - at));
  const std::int64_t expected = expected_loop_duration(o);
  EXPECT_EQ(expected, 367'805);  // audio: 44 PES, the last at +359,445, + 8,360 (4 x 1024 samples, rounded up)
  EXPECT_EQ(span.duration(), static_cast<std::uint64_t>(expected));

  // Video only: 100 frames of 3,600 ticks.
  o.audio = false;
  const Bytes video = make_stream(o);
  LoopSpan vspan;
  vspan.observe(video.data(), video.size());
  EXPECT_EQ(vspan.duration(), 360'000u);
}

TEST(FileLoop, PassesContinueOneTimelineWithoutOverlapOrCounterJumps) {
  StreamOptions o;
  const Bytes file = make_stream(o);
  FileLoop fl;
  const Bytes out = loop(file, 4, fl);
  const auto duration = static_cast<std::uint64_t>(expected_loop_duration(o));
  EXPECT_EQ(fl.loop_duration(), duration);
  EXPECT_EQ(fl.loops(), 3u);
  EXPECT_EQ(fl.offset(), 3 * duration);

  const auto pes = pes_headers(out);
  ASSERT_EQ(pes.count(kVideo), 1u);
  ASSERT_EQ(pes.count(kAudio), 1u);
  for (const auto& [pid, list] : pes) {
    SCOPED_TRACE(pid == kVideo ? "video" : "audio");
    for (std::size_t i = 1; i < list.size(); ++i) ASSERT_GT(timestamp_delta(list[i - 1].dts, list[i].dts), 0) << i;
  }
  // Audio: each PES (4 frames, 8,359.18 ticks) starts at or after the previous one ends, seams included.
  const auto& audio = pes.at(kAudio);
  for (std::size_t i = 1; i < audio.size(); ++i) ASSERT_GE(timestamp_delta(audio[i - 1].pts, audio[i].pts), 8359) << i;
  // Pass k is pass 0 moved by k loop durations.
  const std::size_t per_pass = audio.size() / 4;
  for (std::size_t k = 1; k < 4; ++k) EXPECT_EQ(audio[k * per_pass].pts, audio[0].pts + k * duration);

  // The PCR only goes forward; the cutter sees no seam: no discontinuity, no counter error.
  std::uint64_t last = 0, pcr = 0;
  for (std::size_t at = 0; at < out.size(); at += 188) {
    if (!read_pcr(out.data() + at, pcr)) continue;
    ASSERT_GT(pcr, last) << "packet " << at / 188;
    last = pcr;
  }
  std::vector<Segment> segments;
  Cutter cutter({}, [&](Segment&& s) { segments.push_back(std::move(s)); });
  cutter.feed(out.data(), out.size());
  cutter.finish();
  for (const Segment& s : segments) EXPECT_FALSE(s.discontinuity) << "segment " << s.sequence;
  EXPECT_EQ(cutter.stats().cc_errors, 0u);
  EXPECT_EQ(cutter.stats().discontinuities, 0u);
  EXPECT_EQ(fl.timestamps().headers_split(), 0u);
}

TEST(FileLoop, AFileWithoutTimestampsDoesNotLoop) {
  TsWriter w;
  w.pat();
  w.null_packet();
  FileLoop fl;
  fl.process(w.out.data(), w.out.size());
  EXPECT_FALSE(fl.next_loop());
}

// The pacing arithmetic behind "EXTINF sum = wall time": over each pass, the EXTINF
// the cutter writes and the wall time the pacer schedules both advance by exactly
// the loop duration (to the nanosecond), so they cannot drift apart pass after pass.
TEST(FileLoop, MediaTimeAndWallScheduleAdvanceByTheSameAmountPerPass) {
  StreamOptions o;
  o.frames = 100;  // 4 s (+ the audio's 87 ms), keyframe each second: each pass begins a segment
  const Bytes file = make_stream(o);
  constexpr int kPasses = 5;
  FileLoop fl;
  RealtimePacer pacer(std::chrono::seconds(1));
  const TimePoint t0 = TimePoint{} + std::chrono::hours(1);
  std::vector<TimePoint> pass_start_due;  // due time of each pass's first block
  std::vector<Segment> segments;
  Cutter cutter({}, [&](Segment&& s) { segments.push_back(std::move(s)); });
  for (int pass = 0; pass < kPasses; ++pass) {
    if (pass > 0) {
      ASSERT_TRUE(fl.next_loop());
    }
    for (std::size_t at = 0; at < file.size(); at += kBlock) {
      Bytes block(file.begin() + static_cast<std::ptrdiff_t>(at),
                  file.begin() + static_cast<std::ptrdiff_t>(std::min(file.size(), at + kBlock)));
      fl.process(block.data(), block.size());
      std::optional<std::uint64_t> last_pcr;
      std::uint64_t pcr = 0;
      for (std::size_t p = 0; p < block.size(); p += 188)
        if (read_pcr(block.data() + p, pcr)) last_pcr = pcr;
      if (last_pcr) {
        const auto slot = pacer.schedule(*last_pcr, t0);  // never late: no re-basing
        ASSERT_FALSE(slot.skipped || slot.jumped);
        if (at == 0) pass_start_due.push_back(slot.due);
      }
      cutter.feed(block.data(), block.size());
    }
  }
  cutter.finish();
  const std::uint64_t d = fl.loop_duration();
  ASSERT_GT(d, 0u);
  ASSERT_EQ(pass_start_due.size(), static_cast<std::size_t>(kPasses));
  // Media: the EXTINF of the segments from pass 0's first keyframe to pass k's.
  std::map<std::uint64_t, double> extinf_before;  // first_pts -> sum of the EXTINF before it
  double sum = 0;
  for (const Segment& s : segments) {
    extinf_before[s.first_pts] = sum;
    sum += s.duration;
  }
  for (int k = 1; k < kPasses; ++k) {
    SCOPED_TRACE("pass " + std::to_string(k));
    const std::uint64_t pass_start = timestamp_add(o.first_pts, static_cast<std::int64_t>(k * d));
    ASSERT_TRUE(extinf_before.count(pass_start)) << "a segment starts at each pass's first keyframe";
    const double media = extinf_before[pass_start];
    const double wall = std::chrono::duration<double>(pass_start_due[static_cast<std::size_t>(k)] - pass_start_due[0]).count();
    EXPECT_NEAR(media, static_cast<double>(k * d) / 90000.0, 1e-9);
    EXPECT_NEAR(wall, media, 1e-8) << "wall schedule and EXTINF disagree";
  }
}
