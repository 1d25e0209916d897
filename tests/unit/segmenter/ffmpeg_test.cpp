// End to end against real encoder output: ffmpeg (libx264 + AAC, B-frames, GOP 1 s)
// writes 8 s of MPEG-TS; the Cutter cuts it at 2 s; ffprobe checks that every
// segment file starts with a keyframe and lasts what the Segment says. And a 2 s
// encode looped four times by FileLoop (as the looped file source does, faster
// than real time): ffmpeg decodes it without an error, every stream's DTS goes
// only forward and audio frames never overlap across the three seams. Skipped when
// ffmpeg/ffprobe are not installed.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>

#include "segmenter/cutter.hpp"
#include "segmenter/file_loop.hpp"
#include "media_tools.hpp"

using namespace hlscache;
namespace fs = std::filesystem;
using namespace hlscache::test;

namespace {

struct Frame {
  bool key = false;
  std::string pict_type;
  double pts = 0.0;
};

// ffprobe's default writer: [FRAME] key=value ... [/FRAME] blocks.
std::vector<Frame> probe_video_frames(const fs::path& file) {
  const std::string out = run("ffprobe -v error -select_streams v -show_frames -show_entries "
                              "frame=key_frame,pict_type,pts_time '" + file.string() + "'");
  std::vector<Frame> frames;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    if (line == "[FRAME]") frames.emplace_back();
    if (frames.empty()) continue;
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = line.substr(0, eq), value = line.substr(eq + 1);
    if (key == "key_frame") frames.back().key = value == "1";
    if (key == "pict_type") frames.back().pict_type = value;
    if (key == "pts_time" && value != "N/A") frames.back().pts = std::stod(value);
  }
  return frames;
}

}  // namespace

TEST(CutterWithFfmpeg, SegmentsOfARealEncodeStartWithKeyframesAndMatchFfprobe) {
  if (!have("ffmpeg") || !have("ffprobe")) GTEST_SKIP() << "ffmpeg/ffprobe not installed";
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const fs::path src = dir.path() / "out.ts";
  const std::string encode =
      "ffmpeg -nostdin -hide_banner -loglevel error -f lavfi -i testsrc=size=640x360:rate=25 -f lavfi -i sine "
      "-t 8 -c:v libx264 -g 25 -keyint_min 25 -sc_threshold 0 -c:a aac -f mpegts '" + src.string() + "'";
  ASSERT_EQ(std::system(encode.c_str()), 0) << encode;
  std::ifstream in(src, std::ios::binary);
  const std::string ts((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(ts.size(), 100'000u);

  std::vector<Segment> segments;
  Cutter cutter({}, [&](Segment&& s) { segments.push_back(std::move(s)); });
  for (std::size_t at = 0; at < ts.size(); at += 64 * 1024) {
    cutter.feed(ts.data() + at, std::min<std::size_t>(64 * 1024, ts.size() - at));
  }
  cutter.finish();

  ASSERT_EQ(segments.size(), 4u);
  double total = 0.0;
  for (const Segment& s : segments) {
    const fs::path file = dir.path() / ("seg_" + std::to_string(s.sequence) + ".ts");
    {
      std::ofstream out(file, std::ios::binary);
      for (const Chunk& c : s.chunks) out.write(c.bytes.get(), static_cast<std::streamsize>(c.size));
    }
    const std::vector<Frame> frames = probe_video_frames(file);
    ASSERT_FALSE(frames.empty()) << file;
    EXPECT_TRUE(frames.front().key) << file;
    EXPECT_EQ(frames.front().pict_type, "I") << file;
    double lo = frames.front().pts, hi = lo;
    for (const Frame& f : frames) {
      lo = std::min(lo, f.pts);
      hi = std::max(hi, f.pts);
    }
    const double probed = hi - lo + 1.0 / 25;
    EXPECT_NEAR(s.duration, probed, 0.1) << file;
    EXPECT_TRUE(s.starts_with_keyframe);
    total += s.duration;
  }
  EXPECT_NEAR(total, 8.0, 0.1);

  const CutterStats st = cutter.stats();
  EXPECT_EQ(st.cc_errors, 0u);
  EXPECT_EQ(st.psi_errors, 0u);
  EXPECT_EQ(st.bytes_skipped, 0u);
  EXPECT_FALSE(st.gop_exceeds_target());
  const StreamFacts& f = cutter.facts();
  EXPECT_EQ(f.width, 640);
  EXPECT_EQ(f.height, 360);
  EXPECT_EQ(f.video_codec_string.rfind("avc1.", 0), 0u) << f.video_codec_string;
  EXPECT_EQ(f.audio_codec_string, "mp4a.40.2");
}

namespace {

struct Packet {
  int stream = 0;
  long long pts = 0, dts = 0, duration = 0;
};

// ffprobe's packets in file order: stream_index,pts,dts,duration (90 kHz).
std::vector<Packet> probe_packets(const fs::path& file) {
  const std::string out = run("ffprobe -v error -show_entries packet=stream_index,pts,dts,duration -of csv=p=0 '" +
                              file.string() + "'");
  std::vector<Packet> packets;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    Packet p;
    if (std::sscanf(line.c_str(), "%d,%lld,%lld,%lld", &p.stream, &p.pts, &p.dts, &p.duration) == 4) packets.push_back(p);
  }
  return packets;
}

// Loops `file` kPasses times through FileLoop, as the file source does (without the
// pacing), into `out`; returns the loop duration in seconds.
double loop_file(const std::string& file, int passes, const fs::path& out) {
  ts::FileLoop fl;
  std::string looped;
  for (int pass = 0; pass < passes; ++pass) {
    if (pass > 0 && !fl.next_loop()) return -1;
    for (std::size_t at = 0; at < file.size(); at += 100 * 188) {
      std::string block = file.substr(at, 100 * 188);
      fl.process(reinterpret_cast<std::uint8_t*>(block.data()), block.size());
      looped += block;
    }
  }
  std::ofstream o(out, std::ios::binary);
  o.write(looped.data(), static_cast<std::streamsize>(looped.size()));
  return static_cast<double>(fl.loop_duration()) / 90000.0;
}

}  // namespace

// The demo channel as tools/setup/make-samples.sh encodes it (10 s, 640x360, 2 s GOP,
// AAC 96 kbit/s at 48 kHz) looped for 60 s of media: ffmpeg decodes all of it without
// one error (issue 15: each seam used to send the audio back 256 samples).
TEST(FileLoopWithFfmpeg, SixtySecondsOfTheLoopedDemoChannelDecodeWithoutAnError) {
  if (!have("ffmpeg") || !have("ffprobe")) GTEST_SKIP() << "ffmpeg/ffprobe not installed";
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const fs::path clip = dir.path() / "test-360p.ts";
  const std::string encode =
      "ffmpeg -nostdin -hide_banner -loglevel error -f lavfi -i testsrc2=size=640x360:rate=25 -f lavfi "
      "-i sine=frequency=440:sample_rate=48000 -t 10 -c:v libx264 -preset veryfast -profile:v main -pix_fmt yuv420p "
      "-b:v 800k -maxrate 800k -bufsize 800k -g 50 -keyint_min 50 -sc_threshold 0 -c:a aac -b:a 96k -ac 2 -f mpegts '" +
      clip.string() + "'";
  ASSERT_EQ(std::system(encode.c_str()), 0) << encode;
  const fs::path out = dir.path() / "looped.ts";
  const double loop = loop_file(read_all(clip), 6, out);
  ASSERT_GT(loop, 9.9);
  const std::string errors = run("ffmpeg -nostdin -hide_banner -v error -i '" + out.string() + "' -f null - 2>&1");
  EXPECT_EQ(errors, "") << "ffmpeg reported errors decoding 60 s of the looped demo channel";
  const std::vector<Packet> packets = probe_packets(out);
  std::map<int, long long> first, last;
  for (const Packet& p : packets) {
    if (!first.count(p.stream)) first[p.stream] = p.dts;
    EXPECT_GT(p.dts, last.count(p.stream) ? last[p.stream] : -1) << "stream " << p.stream << ": DTS goes back";
    last[p.stream] = p.dts;
  }
  ASSERT_EQ(first.size(), 2u);
  for (const auto& [stream, dts] : first) EXPECT_GE(last[stream] - dts, 59 * 90000) << "stream " << stream;
}

TEST(FileLoopWithFfmpeg, AClipLoopedFourTimesIsOneStreamFfmpegDecodesWithoutErrors) {
  if (!have("ffmpeg") || !have("ffprobe")) GTEST_SKIP() << "ffmpeg/ffprobe not installed";
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const fs::path clip = dir.path() / "clip.ts";
  // As tests/integration's make_clip and tools/setup/make-samples.sh: AAC at 48 kHz starts a priming frame early.
  const std::string encode =
      "ffmpeg -nostdin -hide_banner -loglevel error -f lavfi -i testsrc2=size=320x180:rate=25:duration=2 -f lavfi "
      "-i sine=frequency=440:sample_rate=48000:duration=2 -c:v libx264 -preset ultrafast -g 25 -keyint_min 25 "
      "-sc_threshold 0 -pix_fmt yuv420p -c:a aac -b:a 64k -f mpegts '" + clip.string() + "'";
  ASSERT_EQ(std::system(encode.c_str()), 0) << encode;
  const std::string file = read_all(clip);
  ASSERT_GT(file.size(), 10'000u);

  constexpr int kPasses = 4;  // three seams
  const fs::path out = dir.path() / "looped.ts";
  const double loop = loop_file(file, kPasses, out);
  // One pass is the audio's span: 94 AAC frames of 1,920 ticks (the video's 2 s plus a priming frame).
  EXPECT_NEAR(loop, 2.0, 0.05);

  const std::string errors = run("ffmpeg -nostdin -hide_banner -v error -i '" + out.string() + "' -f null - 2>&1");
  EXPECT_EQ(errors, "") << "ffmpeg reported errors decoding the looped stream";

  const std::vector<Packet> packets = probe_packets(out);
  std::map<int, std::vector<Packet>> by_stream;
  for (const Packet& p : packets) by_stream[p.stream].push_back(p);
  ASSERT_EQ(by_stream.size(), 2u);
  std::map<int, std::size_t> counts;
  for (const auto& [stream, list] : by_stream) {
    SCOPED_TRACE("stream " + std::to_string(stream));
    ASSERT_GT(list.size(), 40u);
    for (std::size_t i = 1; i < list.size(); ++i) {
      ASSERT_GT(list[i].dts, list[i - 1].dts) << "packet " << i << ": DTS goes back";
      // No overlap: a frame starts once the previous one in decode order has ended
      // (audio: presentation = decode order; video: DTS spaced by a frame).
      ASSERT_GE(list[i].dts, list[i - 1].dts + list[i - 1].duration) << "packet " << i << " overlaps";
    }
    // Presentation times are all distinct and the last pass ends after the first began + 3 loops.
    std::set<long long> pts;
    for (const Packet& p : list) pts.insert(p.pts);
    EXPECT_EQ(pts.size(), list.size());
    EXPECT_GE(*pts.rbegin() - *pts.begin(), std::llround(3 * loop * 90000));
  }
}
