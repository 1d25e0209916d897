// End to end against real encoder output: ffmpeg (libx264 + AAC, B-frames, GOP 1 s)
// writes 8 s of MPEG-TS; the Cutter cuts it at 2 s; ffprobe checks that every
// segment file starts with a keyframe and lasts what the Segment says. Skipped
// when ffmpeg/ffprobe are not installed.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

#include "segmenter/cutter.hpp"

using namespace hlscache;
namespace fs = std::filesystem;

namespace {

bool have(const char* tool) { return std::system((std::string("command -v ") + tool + " >/dev/null 2>&1").c_str()) == 0; }

std::string run(const std::string& cmd) {
  std::string out;
  FILE* f = ::popen(cmd.c_str(), "r");
  if (f == nullptr) return out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  ::pclose(f);
  return out;
}

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

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "hlscache-seg-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

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
