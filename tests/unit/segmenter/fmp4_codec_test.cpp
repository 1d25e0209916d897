// Elementary streams -> fMP4 samples and sample entries: Annex B splitting,
// length-prefixed samples without AUD/parameter sets, avcC and hvcC bytes for
// known parameter sets, ADTS frames -> raw AAC and the AudioSpecificConfig.
#include <gtest/gtest.h>

#include "segmenter/fmp4_codec.hpp"
#include "segmenter/video_sps.hpp"
#include "ts_builder.hpp"

using namespace hlscache;
using namespace hlscache::fmp4;
using namespace hlscache::testing;

namespace {

const Bytes kH264Pps = {0x68, 0xEE, 0x3C, 0x80};  // as ts_builder's access_unit writes them
const Bytes kH265Vps = {0x40, 0x01, 0x0C, 0x01, 0xFF, 0xFF};
const Bytes kH265Pps = {0x44, 0x01, 0xC1, 0x72, 0xB4};

Bytes to_bytes(NalUnit n) { return Bytes(n.begin(), n.end()); }

// Length-prefixed NAL units back into a list.
std::vector<Bytes> nal_units_of(const Bytes& sample) {
  std::vector<Bytes> out;
  std::size_t at = 0;
  while (at + 4 <= sample.size()) {
    const std::size_t len = (std::size_t{sample[at]} << 24) | (std::size_t{sample[at + 1]} << 16) |
                            (std::size_t{sample[at + 2]} << 8) | sample[at + 3];
    at += 4;
    if (len > sample.size() - at) {
      ADD_FAILURE() << "length past the end";
      break;
    }
    out.emplace_back(sample.begin() + static_cast<std::ptrdiff_t>(at), sample.begin() + static_cast<std::ptrdiff_t>(at + len));
    at += len;
  }
  EXPECT_EQ(at, sample.size());
  return out;
}

}  // namespace

TEST(Fmp4Codec, SplitsAnnexBOnThreeAndFourByteStartCodesAndDropsTrailingZeros) {
  const Bytes es = {0xAA, 0xBB,                    // not a NAL unit: before the first start code
                    0x00, 0x00, 0x00, 0x01, 0x09, 0xF0,
                    0x00, 0x00, 0x01, 0x67, 0x42, 0x00, 0x00,  // trailing_zero_8bits before the next
                    0x00, 0x00, 0x01, 0x65, 0x88, 0x00, 0x00, 0x03, 0x01, 0x02};
  const std::vector<NalUnit> nals = split_annexb(es);
  ASSERT_EQ(nals.size(), 3u);
  EXPECT_EQ(to_bytes(nals[0]), (Bytes{0x09, 0xF0}));
  EXPECT_EQ(to_bytes(nals[1]), (Bytes{0x67, 0x42}));
  EXPECT_EQ(to_bytes(nals[2]), (Bytes{0x65, 0x88, 0x00, 0x00, 0x03, 0x01, 0x02})) << "emulation prevention kept";
  EXPECT_TRUE(split_annexb(Bytes{0x01, 0x02, 0x03}).empty());
}

TEST(Fmp4Codec, H264KeyframeSampleKeepsSeiAndSliceAndTakesOutTheParameterSets) {
  AccessUnitOptions o;
  o.keyframe = true;
  o.parameter_sets = true;
  o.sei_bytes = 20;
  o.slice_bytes = 300;
  const VideoAccessUnit au = to_video_sample(ts::VideoCodec::h264, access_unit(o));
  EXPECT_TRUE(au.keyframe);
  ASSERT_EQ(au.parameter_sets.sps.size(), 1u);
  EXPECT_EQ(au.parameter_sets.sps[0], h264_sps(640, 360));
  ASSERT_EQ(au.parameter_sets.pps.size(), 1u);
  EXPECT_EQ(au.parameter_sets.pps[0], kH264Pps);
  EXPECT_TRUE(au.parameter_sets.vps.empty());
  const std::vector<Bytes> nals = nal_units_of(au.sample);
  ASSERT_EQ(nals.size(), 2u);  // no AUD, SPS or PPS
  EXPECT_EQ(nals[0][0], 0x06);  // SEI
  EXPECT_EQ(nals[0].size(), 21u);
  EXPECT_EQ(nals[1][0], 0x65);  // IDR slice
  EXPECT_EQ(nals[1].size(), 301u);

  o.keyframe = false;
  o.parameter_sets = false;
  o.sei_bytes = 0;
  const VideoAccessUnit p = to_video_sample(ts::VideoCodec::h264, access_unit(o));
  EXPECT_FALSE(p.keyframe);
  EXPECT_TRUE(p.parameter_sets.empty());
  ASSERT_EQ(nal_units_of(p.sample).size(), 1u);
  EXPECT_EQ(nal_units_of(p.sample)[0][0], 0x41);
}

TEST(Fmp4Codec, AvcCForAKnownHighProfileSpsAndPps) {
  const Bytes sps = h264_sps(640, 360, 100, 31);
  ParameterSets ps;
  ps.sps = {sps};
  ps.pps = {kH264Pps};
  auto record = avc_decoder_config(ps);
  ASSERT_TRUE(record) << record.error().describe();
  Bytes expected = {0x01, 100, 0x00, 31, 0xFF, 0xE1, 0x00, static_cast<std::uint8_t>(sps.size())};
  expected.insert(expected.end(), sps.begin(), sps.end());
  expected.insert(expected.end(), {0x01, 0x00, 0x04, 0x68, 0xEE, 0x3C, 0x80});
  expected.insert(expected.end(), {0xFD, 0xF8, 0xF8, 0x00});  // High: 4:2:0, 8-bit, no SPS extensions
  EXPECT_EQ(*record, expected);
}

TEST(Fmp4Codec, AvcCForBaselineHasNoHighProfileExtensionAndNeedsBothSets) {
  const Bytes sps = h264_sps(320, 180, 66, 30);
  ParameterSets ps;
  ps.sps = {sps};
  EXPECT_FALSE(avc_decoder_config(ps)) << "no PPS";
  ps.pps = {kH264Pps};
  auto record = avc_decoder_config(ps);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->size(), 6 + 2 + sps.size() + 1 + 2 + kH264Pps.size());
  EXPECT_EQ((*record)[1], 66);
  auto track = video_track(ts::VideoCodec::h264, ps);
  ASSERT_TRUE(track);
  EXPECT_EQ(track->codec, fmp4::Codec::h264);
  EXPECT_EQ(track->timescale, 90'000u);
  EXPECT_EQ(track->width, 320);
  EXPECT_EQ(track->height, 180);
  EXPECT_EQ(track->decoder_config, *record);
}

TEST(Fmp4Codec, HvcCRepeatsTheProfileTierLevelAndCarriesThreeArrays) {
  AccessUnitOptions o;
  o.codec = hlscache::testing::Codec::h265;
  o.keyframe = true;
  o.parameter_sets = true;
  const VideoAccessUnit au = to_video_sample(ts::VideoCodec::h265, access_unit(o));
  EXPECT_TRUE(au.keyframe);
  ASSERT_TRUE(au.parameter_sets.complete(ts::VideoCodec::h265));
  EXPECT_EQ(au.parameter_sets.vps[0], kH265Vps);
  EXPECT_EQ(au.parameter_sets.pps[0], kH265Pps);
  ASSERT_EQ(nal_units_of(au.sample).size(), 1u) << "no AUD, VPS, SPS or PPS left";
  auto record = hevc_decoder_config(au.parameter_sets);
  ASSERT_TRUE(record) << record.error().describe();
  const Bytes& r = *record;
  const Bytes sps = h265_sps(640, 360);
  Bytes head = {0x01,
                0x01,                    // profile space 0, tier Main, profile Main
                0x60, 0x00, 0x00, 0x00,  // compatibility flags 1, 2
                0x90, 0x00, 0x00, 0x00, 0x00, 0x00,  // progressive, frame only
                93,                      // level 3.1
                0xF0, 0x00, 0xFC, 0xFD, 0xF8, 0xF8, 0x00, 0x00,
                0x0F,                    // 1 temporal layer, nested, 4-byte lengths
                0x03};
  ASSERT_GE(r.size(), head.size());
  EXPECT_EQ(Bytes(r.begin(), r.begin() + static_cast<std::ptrdiff_t>(head.size())), head);
  Bytes arrays;
  for (const auto& [type, nal] : {std::pair{0x20, kH265Vps}, std::pair{0x21, sps}, std::pair{0x22, kH265Pps}}) {
    arrays.insert(arrays.end(), {static_cast<std::uint8_t>(0x80 | type), 0x00, 0x01, 0x00,
                                 static_cast<std::uint8_t>(nal.size())});
    arrays.insert(arrays.end(), nal.begin(), nal.end());
  }
  EXPECT_EQ(Bytes(r.begin() + static_cast<std::ptrdiff_t>(head.size()), r.end()), arrays);
  auto track = video_track(ts::VideoCodec::h265, au.parameter_sets);
  ASSERT_TRUE(track);
  EXPECT_EQ(track->codec, fmp4::Codec::h265);
  EXPECT_EQ(track->width, 640);
  EXPECT_EQ(track->height, 360);
}

TEST(Fmp4Codec, SpsParsingReportsChromaFormatAndBitDepths) {
  auto h264 = ts::parse_h264_sps(h264_sps(640, 360));
  ASSERT_TRUE(h264);
  EXPECT_EQ(h264->chroma_format_idc, 1u);
  EXPECT_EQ(h264->bit_depth_luma, 8u);
  EXPECT_EQ(h264->bit_depth_chroma, 8u);
  auto h265 = ts::parse_h265_sps(h265_sps(640, 360));
  ASSERT_TRUE(h265);
  EXPECT_EQ(h265->chroma_format_idc, 1u);
  EXPECT_EQ(h265->bit_depth_luma, 8u);
}

TEST(Fmp4Codec, AdtsFramesLoseTheirHeadersAndGiveTheAudioSpecificConfig) {
  Bytes es;
  for (std::size_t n : {64u, 100u, 7u}) {
    const Bytes f = adts_frame(n);
    es.insert(es.end(), f.begin(), f.end());
  }
  es.insert(es.end(), {0x12, 0x34, 0x56});  // not a frame
  std::size_t skipped = 0;
  const std::vector<AdtsFrame> frames = split_adts(es, skipped);
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(skipped, 3u);
  EXPECT_EQ(frames[0].raw.size(), 64u);
  EXPECT_EQ(frames[1].raw.size(), 100u);
  EXPECT_EQ(frames[2].raw.size(), 7u);
  EXPECT_EQ(frames[0].raw.data(), es.data() + 7);
  // AAC LC (2), 44.1 kHz (index 4), 2 channels: 00010 0100 0010 000
  EXPECT_EQ(frames[0].audio_specific_config, (std::array<std::uint8_t, 2>{0x12, 0x10}));
  EXPECT_EQ(frames[0].sample_rate, 44'100u);
  EXPECT_EQ(frames[0].channels, 2);
  const TrackInfo t = audio_track(frames[0]);
  EXPECT_EQ(t.codec, fmp4::Codec::aac);
  EXPECT_EQ(t.timescale, 44'100u);
  EXPECT_EQ(t.decoder_config, (Bytes{0x12, 0x10}));
}

TEST(Fmp4Codec, AdtsWithCrcHasANineByteHeaderAndATruncatedFrameStops) {
  Bytes f = adts_frame(20);
  f[1] = 0xF0;                          // protection_absent = 0: a 16-bit CRC follows the header
  f.insert(f.begin() + 7, {0xC0, 0xC1});
  const std::size_t len = f.size();
  f[3] = static_cast<std::uint8_t>((f[3] & 0xFC) | ((len >> 11) & 0x03));
  f[4] = static_cast<std::uint8_t>(len >> 3);
  f[5] = static_cast<std::uint8_t>(((len & 7) << 5) | 0x1F);
  Bytes es = f;
  const Bytes cut = adts_frame(50);
  es.insert(es.end(), cut.begin(), cut.begin() + 30);
  std::size_t skipped = 0;
  const std::vector<AdtsFrame> frames = split_adts(es, skipped);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].raw.size(), 20u);
  EXPECT_EQ(frames[0].raw.data(), es.data() + 9);
  EXPECT_EQ(skipped, 30u);
}
