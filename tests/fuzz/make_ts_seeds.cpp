// Writes the transport-stream seed corpora of fuzz_segmenter, fuzz_cmaf and
// fuzz_ts_parsers into DIR/segmenter/, DIR/cmaf/ and DIR/ts_parsers/, built with
// tests/support/ts_builder (the streams
// the segmenter's unit tests cut), so the repository keeps no binary seeds. Each file
// starts with the settings bytes its target reads first.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "ts_builder.hpp"

using namespace hlscache::testing;
namespace fs = std::filesystem;

namespace {

void write(const fs::path& dir, const std::string& name, std::initializer_list<std::uint8_t> settings, const Bytes& b) {
  fs::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  for (std::uint8_t s : settings) out.put(static_cast<char>(s));
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

StreamOptions small() {
  StreamOptions o;
  o.frames = 12;
  o.gop = 6;
  o.key_bytes = 1200;
  o.frame_bytes = 250;
  o.psi_every = 6;
  o.audio_pes_seconds = 0.08;
  return o;
}

// A PES header with PTS and DTS (ISO/IEC 13818-1 §2.4.3.7).
Bytes pes_header(std::uint64_t pts, std::uint64_t dts) {
  auto ts = [](Bytes& b, std::uint8_t prefix, std::uint64_t t) {
    b.push_back(static_cast<std::uint8_t>(prefix << 4 | ((t >> 29) & 0x0E) | 1));
    b.push_back(static_cast<std::uint8_t>(t >> 22));
    b.push_back(static_cast<std::uint8_t>(((t >> 14) & 0xFE) | 1));
    b.push_back(static_cast<std::uint8_t>(t >> 7));
    b.push_back(static_cast<std::uint8_t>(((t << 1) & 0xFE) | 1));
  };
  Bytes b{0x00, 0x00, 0x01, 0xE0, 0x00, 0x00, 0x80, 0xC0, 0x0A};
  ts(b, 3, pts);
  ts(b, 1, dts);
  b.insert(b.end(), {0x00, 0x00, 0x00, 0x01, 0x09, 0xF0});
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const fs::path seg = fs::path(argv[1]) / "segmenter";
  const fs::path parsers = fs::path(argv[1]) / "ts_parsers";
  const fs::path cmaf = fs::path(argv[1]) / "cmaf";

  // Segmenter: settings byte a (target, bounds, discontinuity), b (feed size, where), stream.
  StreamOptions o = small();
  write(seg, "h264_aac", {0x00, 0x03}, make_stream(o));
  write(seg, "h264_aac_bounds", {0x0D, 0x21}, make_stream(o));
  write(seg, "h264_aac_discontinuity", {0x81, 0x84}, make_stream(o));
  StreamOptions h265 = small();
  h265.codec = Codec::h265;
  h265.width = 1920;
  h265.height = 1080;
  write(seg, "h265_aac", {0x01, 0x02}, make_stream(h265));
  StreamOptions audio = small();
  audio.video = false;
  audio.frames = 25;
  write(seg, "aac_only", {0x00, 0x01}, make_stream(audio));
  StreamOptions video = small();
  video.audio = false;
  video.random_access = false;
  video.sei_bytes = 300;
  write(seg, "h264_sei_no_rai", {0x20, 0x05}, make_stream(video));
  StreamOptions wrap = small();
  wrap.first_pts = (std::uint64_t{1} << 33) - 9000;
  write(seg, "pts_wrap", {0x00, 0x06}, make_stream(wrap));
  {
    // Garbage in the middle: the reader loses sync and finds it again; then a repeat
    // of the clip with continuous timestamps.
    Bytes a = make_stream(small());
    Bytes b(a.begin(), a.begin() + 188 * 10);
    b.insert(b.end(), {0x47, 0x00, 0x12, 0x47, 0x33});
    b.insert(b.end(), a.begin() + 188 * 10 + 5, a.end());
    std::array<int, 8192> cc;
    cc.fill(-1);
    append_retimed(b, a, 12 * 90000 / 25, cc);
    write(seg, "resync_and_repeat", {0x10, 0x07}, b);
  }
  {
    TsWriter w;  // continuity errors, null and adaptation-only packets
    w.pat();
    w.pmt({{0x1B, 0x100}}, 0x100);
    AccessUnitOptions au;
    au.keyframe = true;
    au.parameter_sets = true;
    PesOptions po;
    po.random_access = true;
    po.with_pcr = true;
    po.pts = 900000;
    w.pes(0x100, access_unit(au), po);
    w.null_packet();
    w.adaptation_only(0x100, true);
    w.set_cc(0x100, 9);
    au.keyframe = false;
    au.parameter_sets = false;
    po.random_access = false;
    po.pts += 3600;
    w.pes(0x100, access_unit(au), po);
    write(seg, "cc_error_null_adaptation", {0x00, 0x03}, w.out);
  }

  // CMAF muxer: settings byte a (part target, segment target, timestamp gap), b (feed size), stream.
  write(cmaf, "h264_aac", {0x09, 0x03}, make_stream(small()));
  write(cmaf, "h265_aac", {0x06, 0x02}, make_stream(h265));
  write(cmaf, "aac_only", {0x05, 0x01}, make_stream(audio));
  write(cmaf, "pts_wrap", {0x0A, 0x06}, make_stream(wrap));
  {
    Bytes b;  // radio, then TV on the same timeline: the PMT gains the video
    std::array<int, 8192> cc;
    cc.fill(-1);
    append_retimed(b, make_stream(audio), 0, cc);
    StreamOptions tv = small();
    tv.first_pts = audio.first_pts + 25 * 3600;
    append_retimed(b, make_stream(tv), 0, cc);
    write(cmaf, "radio_then_tv", {0x09, 0x04}, b);
  }

  // Parsers: selector byte, low 3 bits (0 h264 SPS, 1 h265 SPS, 2 ADTS, 3 PAT, 4 PMT, 5 PES header, 6 NAL scan).
  write(parsers, "h264_sps", {0}, h264_sps(1280, 720));
  write(parsers, "h264_sps_baseline", {8}, h264_sps(1920, 1080, 66, 40));
  write(parsers, "h265_sps", {1}, h265_sps(1920, 1080));
  write(parsers, "adts", {2}, adts_frame(16));
  write(parsers, "pat", {3}, pat_section(1, 0x1000, 0));
  write(parsers, "pmt", {4}, pmt_section(1, 0x100, {{0x1B, 0x100}, {0x0F, 0x101}, {0x24, 0x102}}, 3));
  write(parsers, "pes_header", {5}, pes_header(900000, 896400));
  write(parsers, "pes_header_pieces", {0x35}, pes_header(0x1FFFFFFFF, 0));
  AccessUnitOptions key;
  key.keyframe = true;
  key.parameter_sets = true;
  key.sei_bytes = 40;
  key.slice_bytes = 20;
  write(parsers, "nal_h264_key", {6}, access_unit(key));
  key.codec = Codec::h265;
  write(parsers, "nal_h265_key", {0x0E}, access_unit(key));
  return 0;
}
