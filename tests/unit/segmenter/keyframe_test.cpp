// NalScanner keyframe verdicts (H.264 IDR, H.265 IRAP, split start codes, scan
// budget), SPS -> resolution and CODECS, and the ADTS header.
#include <gtest/gtest.h>

#include "segmenter/audio_format.hpp"
#include "segmenter/bit_reader.hpp"
#include "segmenter/nal_scanner.hpp"
#include "segmenter/video_sps.hpp"
#include "ts_builder.hpp"

using namespace hlscache;
using namespace hlscache::ts;
using namespace hlscache::testing;

namespace {

struct Verdict {
  bool done = false;
  bool key = false;
  bool vcl = false;
  Bytes sps;
};

Verdict scan_in_pieces(VideoCodec codec, const Bytes& es, std::size_t piece) {
  NalScanner s;
  s.start(codec);
  for (std::size_t at = 0; at < es.size() && !s.done(); at += piece) {
    s.feed(es.data() + at, std::min(piece, es.size() - at));
  }
  return {s.done(), s.keyframe(), s.found_vcl(), Bytes(s.sps().begin(), s.sps().end())};
}

}  // namespace

TEST(NalScanner, H264IdrIsAKeyframeWithoutAnyFlag) {
  AccessUnitOptions o;
  o.keyframe = true;
  o.parameter_sets = true;
  const Verdict v = scan_in_pieces(VideoCodec::h264, access_unit(o), 1000);
  EXPECT_TRUE(v.done);
  EXPECT_TRUE(v.vcl);
  EXPECT_TRUE(v.key);
  EXPECT_EQ(v.sps, h264_sps(640, 360));
}

TEST(NalScanner, H264NonIdrSliceIsNotAKeyframe) {
  AccessUnitOptions o;
  const Verdict v = scan_in_pieces(VideoCodec::h264, access_unit(o), 1000);
  EXPECT_TRUE(v.done);
  EXPECT_TRUE(v.vcl);
  EXPECT_FALSE(v.key);
  EXPECT_TRUE(v.sps.empty());
}

TEST(NalScanner, SpsFollowedByIdrFoundAcrossEverySplitPoint) {
  AccessUnitOptions o;
  o.keyframe = true;
  o.parameter_sets = true;
  o.sei_bytes = 30;
  const Bytes es = access_unit(o);
  // Every piece size splits some start code (and the SPS) somewhere: the verdict must not change.
  for (std::size_t piece : {1u, 2u, 3u, 5u, 7u, 11u, 184u}) {
    const Verdict v = scan_in_pieces(VideoCodec::h264, es, piece);
    EXPECT_TRUE(v.key) << "piece " << piece;
    EXPECT_EQ(v.sps, h264_sps(640, 360)) << "piece " << piece;
  }
}

TEST(NalScanner, StartCodeSplitRightBeforeTheNalHeader) {
  const Bytes es = {0x00, 0x00, 0x00, 0x01, 0x09, 0xF0, 0x00, 0x00, 0x01, 0x65, 0x88};
  NalScanner s;
  s.start(VideoCodec::h264);
  EXPECT_FALSE(s.feed(es.data(), 8));  // ... 00 00 | 01 65
  EXPECT_FALSE(s.feed(es.data() + 8, 1));
  EXPECT_TRUE(s.feed(es.data() + 9, 2));
  EXPECT_TRUE(s.keyframe());
}

TEST(NalScanner, H265IrapTypesAreKeyframesAndTrailIsNot) {
  for (std::uint8_t type : {16, 19, 20, 21}) {  // BLA_W_LP, IDR_W_RADL, IDR_N_LP, CRA
    AccessUnitOptions o;
    o.codec = Codec::h265;
    o.keyframe = true;
    o.parameter_sets = true;
    o.h265_key_type = type;
    const Verdict v = scan_in_pieces(VideoCodec::h265, access_unit(o), 3);
    EXPECT_TRUE(v.key) << int(type);
    EXPECT_EQ(v.sps, h265_sps(640, 360));
  }
  AccessUnitOptions o;
  o.codec = Codec::h265;
  const Verdict v = scan_in_pieces(VideoCodec::h265, access_unit(o), 3);
  EXPECT_TRUE(v.vcl);
  EXPECT_FALSE(v.key);
}

TEST(NalScanner, GivesUpAfterTheScanBudget) {
  AccessUnitOptions o;
  o.keyframe = true;
  o.sei_bytes = NalScanner::kMaxScanBytes + 10;  // the slice lies beyond the budget
  const Verdict v = scan_in_pieces(VideoCodec::h264, access_unit(o), 4096);
  EXPECT_TRUE(v.done);
  EXPECT_FALSE(v.vcl);
  EXPECT_FALSE(v.key);
}

TEST(BitReader, ExpGolombAndEmulationPrevention) {
  const Bytes rbsp = nal_to_rbsp(Bytes{0x00, 0x00, 0x03, 0x01, 0x00, 0x00, 0x03});
  EXPECT_EQ(rbsp, (Bytes{0x00, 0x00, 0x01, 0x00, 0x00}));
  // "1" "010" "011" "00100" "00101": ue 0, 1, 2, 3, then code 4 read as se = -2.
  const Bytes codes = {0b1010'0110, 0b0100'0010, 0b1000'0000};
  BitReader br(codes);
  EXPECT_EQ(br.ue(), 0u);
  EXPECT_EQ(br.ue(), 1u);
  EXPECT_EQ(br.ue(), 2u);
  EXPECT_EQ(br.ue(), 3u);
  EXPECT_EQ(br.se(), -2);
  EXPECT_TRUE(br.ok());
  br.skip(100);
  EXPECT_FALSE(br.ok());
}

TEST(VideoSps, H264SizeWithCroppingAndCodecString) {
  auto f = parse_h264_sps(h264_sps(640, 360, 100, 31));
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->width, 640);
  EXPECT_EQ(f->height, 360);
  EXPECT_EQ(f->codec_string, "avc1.64001f");
  auto g = parse_h264_sps(h264_sps(1920, 1080, 66, 40));
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->width, 1920);
  EXPECT_EQ(g->height, 1080);
  EXPECT_EQ(g->codec_string, "avc1.420028");
}

TEST(VideoSps, H265SizeWithConformanceWindowAndCodecString) {
  auto f = parse_h265_sps(h265_sps(1920, 1080));
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->width, 1920);
  EXPECT_EQ(f->height, 1080);
  EXPECT_EQ(f->codec_string, "hvc1.1.6.L93.90");
}

TEST(VideoSps, TruncatedSpsIsAnError) {
  Bytes sps = h264_sps(640, 360);
  sps.resize(6);
  EXPECT_FALSE(parse_h264_sps(sps).ok());
}

TEST(AudioFormat, AdtsGivesTheAudioObjectType) {
  const Bytes f = adts_frame();
  auto a = parse_adts(f.data(), f.size());
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->codec_string, "mp4a.40.2");
  EXPECT_EQ(a->sample_rate, 44100);
  EXPECT_EQ(a->channels, 2);
  const std::uint8_t junk[7] = {0xFF, 0x00, 0, 0, 0, 0, 0};
  EXPECT_FALSE(parse_adts(junk, 7).ok());
  EXPECT_EQ(audio_codec_string(StreamKind::ac3), "ac-3");
}
