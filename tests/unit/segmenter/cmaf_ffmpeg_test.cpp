// fMP4 output against ffmpeg. A real encode (libx264 with B-frames + AAC, 4 s, or
// libx265 + AAC, 2 s) goes through CmafMuxer as MPEG-TS; the init segment followed
// by every part is one file that ffprobe must read as the same streams with the
// same frame count and the same video timestamps as the transport stream, and that
// ffmpeg must decode without a single error; each segment (init + its parts) must
// also decode on its own, starting with a keyframe. Skipped when ffmpeg/ffprobe
// (or the encoder) are not installed.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

#include "segmenter/cmaf_muxer.hpp"
#include "media_tools.hpp"

using namespace hlscache;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using namespace hlscache::test;

namespace {

bool have_encoder(const char* name) {
  return std::system((std::string("ffmpeg -hide_banner -encoders 2>/dev/null | grep -q ' ") + name + " '").c_str()) == 0;
}

std::vector<CmafPart> mux(const std::string& ts, CmafConfig cfg, CmafStats& stats) {
  std::vector<CmafPart> parts;
  CmafMuxer m(cfg, [&](CmafPart&& p) { parts.push_back(std::move(p)); });
  for (std::size_t at = 0; at < ts.size(); at += 64 * 1024) {
    m.feed(ts.data() + at, std::min<std::size_t>(64 * 1024, ts.size() - at));
  }
  m.finish();
  stats = m.stats();
  return parts;
}

// ffprobe's streams as key -> value, one map per stream.
std::vector<std::map<std::string, std::string>> probe_streams(const fs::path& file) {
  const std::string out = run("ffprobe -v error -show_entries stream=codec_name,codec_tag_string,width,height,"
                              "sample_rate,channels -of default=nw=0 '" + file.string() + "'");
  std::vector<std::map<std::string, std::string>> streams;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    if (line == "[STREAM]") streams.emplace_back();
    const auto eq = line.find('=');
    if (streams.empty() || eq == std::string::npos) continue;
    streams.back()[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return streams;
}

double probe_duration(const fs::path& file, const char* stream) {
  const std::string out = run(std::string("ffprobe -v error -select_streams ") + stream +
                              " -show_entries stream=duration -of csv=p=0 '" + file.string() + "'");
  return out.empty() ? -1.0 : std::stod(out);
}

long count_frames(const fs::path& file, const char* stream) {
  const std::string out = run(std::string("ffprobe -v error -count_frames -select_streams ") + stream +
                              " -show_entries stream=nb_read_frames -of csv=p=0 '" + file.string() + "'");
  return out.empty() ? -1 : std::stol(out);
}

// (pts, dts) of the video packets in file order, in the stream's time base.
std::vector<std::pair<long long, long long>> video_timestamps(const fs::path& file) {
  const std::string out = run("ffprobe -v error -select_streams v:0 -show_entries packet=pts,dts -of csv=p=0 '" +
                              file.string() + "'");
  std::vector<std::pair<long long, long long>> ts;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    long long pts = 0, dts = 0;
    if (std::sscanf(line.c_str(), "%lld,%lld", &pts, &dts) == 2) ts.emplace_back(pts, dts);
  }
  return ts;
}

bool first_frame_is_key(const fs::path& file) {
  const std::string out = run("ffprobe -v error -select_streams v:0 -read_intervals %+#1 -show_entries "
                              "frame=key_frame -of csv=p=0 '" + file.string() + "'");
  return out.rfind("1", 0) == 0;
}

std::string decode_errors(const fs::path& file) {
  return run("ffmpeg -nostdin -hide_banner -v error -i '" + file.string() + "' -f null - 2>&1");
}

// Writes init + every part to all.mp4 and init + each segment's parts to seg_<n>.mp4.
std::vector<fs::path> write_files(const fs::path& dir, const std::vector<CmafPart>& parts, fs::path& all) {
  std::string whole = *parts.front().init;
  std::vector<std::string> segments;
  for (const CmafPart& p : parts) {
    whole += p.bytes;
    if (p.starts_segment) segments.push_back(*p.init);
    segments.back() += p.bytes;
  }
  all = dir / "all.mp4";
  write_all(all, whole);
  std::vector<fs::path> files;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    files.push_back(dir / ("seg_" + std::to_string(i) + ".mp4"));
    write_all(files.back(), segments[i]);
  }
  return files;
}

}  // namespace

TEST(CmafWithFfmpeg, H264WithBFramesAndAacDecodeWithoutErrorsAndKeepTheirTimestamps) {
  if (!have("ffmpeg") || !have("ffprobe") || !have_encoder("libx264")) GTEST_SKIP() << "ffmpeg/ffprobe/libx264 not installed";
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const fs::path src = dir.path() / "in.ts";
  const std::string encode =
      "ffmpeg -nostdin -hide_banner -loglevel error -f lavfi -i testsrc=size=640x360:rate=25 -f lavfi "
      "-i sine=frequency=440:sample_rate=48000 -t 4 -c:v libx264 -bf 3 -g 25 -keyint_min 25 -sc_threshold 0 "
      "-pix_fmt yuv420p -c:a aac -b:a 64k -f mpegts '" + src.string() + "'";
  ASSERT_EQ(std::system(encode.c_str()), 0) << encode;
  const std::string ts = read_all(src);

  CmafStats stats;
  CmafConfig cfg;
  cfg.part_target = 330ms;
  cfg.segment_target = 1000ms;
  const std::vector<CmafPart> parts = mux(ts, cfg, stats);
  ASSERT_FALSE(parts.empty());
  ASSERT_TRUE(parts.front().init);
  double total = 0.0;
  for (const CmafPart& p : parts) {
    EXPECT_LE(p.duration, 0.330);
    EXPECT_EQ(p.init, parts.front().init);
    total += p.duration;
  }
  EXPECT_NEAR(total, 4.0, 1e-9);
  EXPECT_EQ(stats.segments, 4u);
  EXPECT_EQ(stats.init_segments, 1u);
  EXPECT_EQ(stats.video_before_start, 0u);
  EXPECT_EQ(stats.pes_dropped, 0u);
  EXPECT_EQ(stats.audio_gaps, 0u);

  fs::path all;
  const std::vector<fs::path> segments = write_files(dir.path(), parts, all);
  const auto streams = probe_streams(all);
  ASSERT_EQ(streams.size(), 2u);
  EXPECT_EQ(streams[0].at("codec_name"), "h264");
  EXPECT_EQ(streams[0].at("codec_tag_string"), "avc1");
  EXPECT_EQ(streams[0].at("width"), "640");
  EXPECT_EQ(streams[0].at("height"), "360");
  EXPECT_EQ(streams[1].at("codec_name"), "aac");
  EXPECT_EQ(streams[1].at("sample_rate"), "48000");
  EXPECT_EQ(streams[1].at("channels"), "1");
  EXPECT_EQ(decode_errors(all), "");
  EXPECT_EQ(count_frames(all, "v:0"), 100);
  EXPECT_EQ(count_frames(all, "v:0"), count_frames(src, "v:0"));
  const long audio_frames = count_frames(all, "a:0");
  EXPECT_NEAR(audio_frames, count_frames(src, "a:0"), 1) << "at most the one frame before the first picture";
  EXPECT_NEAR(static_cast<double>(audio_frames), 4.0 * 48'000 / 1024, 3);

  // Both in 90 kHz: tfdt + durations give the DTS, + the composition offsets the PTS.
  const auto ts_times = video_timestamps(src);
  const auto mp4_times = video_timestamps(all);
  ASSERT_EQ(mp4_times.size(), 100u);
  EXPECT_EQ(mp4_times, ts_times);
  // The tfdt keep the transport stream's timeline and the mov demuxer counts a
  // fragmented file's duration from time 0: the video ends 4 s after its first DTS.
  EXPECT_NEAR(probe_duration(all, "v:0"), static_cast<double>(ts_times.front().second) / 90'000 + 4.0, 1e-6);
  bool reordered = false;
  for (const auto& [pts, dts] : mp4_times) reordered |= pts != dts + (mp4_times.front().first - mp4_times.front().second);
  EXPECT_TRUE(reordered) << "the encode was meant to have B-frames";

  ASSERT_EQ(segments.size(), 4u);
  for (const fs::path& s : segments) {
    EXPECT_EQ(decode_errors(s), "") << s;
    EXPECT_TRUE(first_frame_is_key(s)) << s;
    EXPECT_EQ(count_frames(s, "v:0"), 25) << s;
  }
}

TEST(CmafWithFfmpeg, H265AndAacDecodeWithoutErrors) {
  if (!have("ffmpeg") || !have("ffprobe") || !have_encoder("libx265")) GTEST_SKIP() << "ffmpeg/ffprobe/libx265 not installed";
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const fs::path src = dir.path() / "in.ts";
  const std::string encode =
      "ffmpeg -nostdin -hide_banner -loglevel error -f lavfi -i testsrc2=size=320x180:rate=25 -f lavfi "
      "-i sine=frequency=440:sample_rate=44100 -t 2 -c:v libx265 -preset ultrafast "
      "-x265-params keyint=25:min-keyint=25:scenecut=0:log-level=error -pix_fmt yuv420p -c:a aac -b:a 64k "
      "-f mpegts '" + src.string() + "'";
  ASSERT_EQ(std::system(encode.c_str()), 0) << encode;

  CmafStats stats;
  CmafConfig cfg;
  cfg.segment_target = 1000ms;
  const std::vector<CmafPart> parts = mux(read_all(src), cfg, stats);
  ASSERT_FALSE(parts.empty());
  fs::path all;
  const std::vector<fs::path> segments = write_files(dir.path(), parts, all);
  const auto streams = probe_streams(all);
  ASSERT_EQ(streams.size(), 2u);
  EXPECT_EQ(streams[0].at("codec_name"), "hevc");
  EXPECT_EQ(streams[0].at("codec_tag_string"), "hvc1");
  EXPECT_EQ(streams[0].at("width"), "320");
  EXPECT_EQ(streams[0].at("height"), "180");
  EXPECT_EQ(streams[1].at("codec_name"), "aac");
  EXPECT_EQ(streams[1].at("sample_rate"), "44100");
  EXPECT_EQ(decode_errors(all), "");
  EXPECT_EQ(count_frames(all, "v:0"), 50);
  EXPECT_EQ(video_timestamps(all), video_timestamps(src));
  ASSERT_EQ(segments.size(), 2u);
  for (const fs::path& s : segments) {
    EXPECT_EQ(decode_errors(s), "") << s;
    EXPECT_TRUE(first_frame_is_key(s)) << s;
  }
}
