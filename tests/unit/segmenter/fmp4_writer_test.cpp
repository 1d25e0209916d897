// The fMP4 byte layout: BoxWriter sizes and fields, the init segment's boxes
// (brands, tracks, sample entries with avcC/esds, trex), and fragments read back
// with the test-side reader: sequence numbers, tfdt, trun fields, data offsets
// that land on each track's bytes in the mdat.
#include <gtest/gtest.h>

#include <numeric>

#include "mp4_reader.hpp"
#include "segmenter/fmp4_boxes.hpp"
#include "segmenter/fmp4_writer.hpp"

using namespace hlscache::fmp4;
using namespace hlscache::testing;

namespace {

TrackInfo video_info() {
  TrackInfo t;
  t.codec = Codec::h264;
  t.timescale = 90'000;
  t.decoder_config = {1, 0x64, 0x00, 0x1F, 0xFF, 0xE0, 0x00};  // shape only: the writer copies it
  t.width = 640;
  t.height = 360;
  return t;
}

TrackInfo audio_info() {
  TrackInfo t;
  t.codec = Codec::aac;
  t.timescale = 48'000;
  t.decoder_config = {0x11, 0x90};  // AAC LC, 48 kHz, stereo
  t.channels = 2;
  t.sample_rate = 48'000;
  return t;
}

Sample sample(std::uint64_t dts, std::uint32_t duration, bool sync, std::size_t bytes, std::uint8_t fill,
              std::int32_t cto = 0) {
  return Sample{dts, duration, cto, sync, std::vector<std::uint8_t>(bytes, fill)};
}

// Every box's children tile its payload exactly (recursively, for the containers we write).
void expect_well_formed(const Mp4Box& b) {
  static const char* const kContainers[] = {"moov", "trak", "mdia", "minf", "dinf", "stbl", "mvex",
                                            "moof", "traf", "stsd", "dref", "avc1", "hvc1", "mp4a"};
  for (const char* c : kContainers) {
    if (b.type != c) continue;
    std::size_t sum = mp4_children_at(b.type);
    for (const Mp4Box& child : mp4_children(b)) {
      sum += child.size;
      expect_well_formed(child);
    }
    EXPECT_EQ(sum + 8, b.size) << b.type;
  }
}

std::vector<std::string> types(const std::vector<Mp4Box>& boxes) {
  std::vector<std::string> out;
  for (const Mp4Box& b : boxes) out.push_back(b.type);
  return out;
}

}  // namespace

TEST(BoxWriter, NestedBoxesGetTheirSizesAndFieldsAreBigEndian) {
  BoxWriter w;
  w.box("moov", [&] {
    w.full_box("mvhd", 1, 0x000203, [&] { w.u64(0x0102030405060708); });
    w.box("free", [&] {
      w.u16(0xABCD);
      w.u24(0x123456);
      w.i32(-2);
    });
  });
  const std::string b = w.take();
  const std::string expected("\x00\x00\x00\x2D" "moov"
                             "\x00\x00\x00\x14" "mvhd" "\x01\x00\x02\x03" "\x01\x02\x03\x04\x05\x06\x07\x08"
                             "\x00\x00\x00\x11" "free" "\xAB\xCD" "\x12\x34\x56" "\xFF\xFF\xFF\xFE",
                             45);
  EXPECT_EQ(b, expected);
}

TEST(BoxWriter, AReservedFieldIsPatchedLater) {
  BoxWriter w;
  w.u8(0xEE);
  const std::size_t at = w.reserve_u32();
  w.u8(0xFF);
  w.patch_u32(at, 0x11223344);
  EXPECT_EQ(w.take(), std::string("\xEE\x11\x22\x33\x44\xFF", 6));
}

TEST(Fmp4Writer, InitSegmentHasFtypAndAMoovWithBothTracks) {
  const Fmp4Writer writer(video_info(), audio_info());
  const std::string init = writer.init_segment();
  const std::vector<Mp4Box> top = mp4_boxes(init);
  ASSERT_EQ(types(top), (std::vector<std::string>{"ftyp", "moov"}));
  EXPECT_EQ(top[0].size + top[1].size, init.size());
  expect_well_formed(top[1]);

  Mp4Fields ftyp(top[0].payload);
  EXPECT_EQ(ftyp.fourcc(), "iso6");
  EXPECT_EQ(ftyp.u32(), 0u);
  EXPECT_EQ(ftyp.fourcc(), "iso6");
  EXPECT_EQ(ftyp.fourcc(), "mp41");

  EXPECT_EQ(types(mp4_children(top[1])), (std::vector<std::string>{"mvhd", "trak", "trak", "mvex"}));
  Mp4Fields mvhd(mp4_find(init, {"moov", "mvhd"})->payload);
  mvhd.skip(4 + 8);
  EXPECT_EQ(mvhd.u32(), 1000u);  // timescale
  mvhd.skip(4 + 4 + 2 + 10 + 36 + 24);
  EXPECT_EQ(mvhd.u32(), 3u);  // next_track_ID
  EXPECT_EQ(mvhd.left(), 0u);

  const std::vector<Mp4Box> traks = mp4_all(top[1], "trak");
  ASSERT_EQ(traks.size(), 2u);
  struct Expect {
    std::uint32_t id;
    std::uint32_t timescale;
    const char* handler;
    const char* entry;
    const char* media_header;
  } expect[] = {{1, 90'000, "vide", "avc1", "vmhd"}, {2, 48'000, "soun", "mp4a", "smhd"}};
  for (int i = 0; i < 2; ++i) {
    const std::string_view trak(init.data() + traks[i].offset, traks[i].size);
    Mp4Fields tkhd(mp4_find(trak, {"trak", "tkhd"})->payload);
    EXPECT_EQ(tkhd.u8(), 0);
    EXPECT_EQ(tkhd.u24(), 3u);  // enabled, in movie
    tkhd.skip(8);
    EXPECT_EQ(tkhd.u32(), expect[i].id);
    tkhd.skip(4 + 4 + 8 + 2 + 2);
    EXPECT_EQ(tkhd.u16(), i == 0 ? 0 : 0x0100);  // volume
    tkhd.skip(2 + 36);
    EXPECT_EQ(tkhd.u32(), i == 0 ? 640u << 16 : 0u);
    EXPECT_EQ(tkhd.u32(), i == 0 ? 360u << 16 : 0u);

    Mp4Fields mdhd(mp4_find(trak, {"trak", "mdia", "mdhd"})->payload);
    mdhd.skip(4 + 8);
    EXPECT_EQ(mdhd.u32(), expect[i].timescale);
    Mp4Fields hdlr(mp4_find(trak, {"trak", "mdia", "hdlr"})->payload);
    hdlr.skip(8);
    EXPECT_EQ(hdlr.fourcc(), expect[i].handler);
    EXPECT_TRUE(mp4_find(trak, {"trak", "mdia", "minf", expect[i].media_header}));
    EXPECT_TRUE(mp4_find(trak, {"trak", "mdia", "minf", "dinf", "dref", "url "}));
    for (const char* table : {"stts", "stsc", "stco"}) {
      Mp4Fields t(mp4_find(trak, {"trak", "mdia", "minf", "stbl", table})->payload);
      t.skip(4);
      EXPECT_EQ(t.u32(), 0u) << table;  // no entries: the samples are in the fragments
    }
    Mp4Fields stsd(mp4_find(trak, {"trak", "mdia", "minf", "stbl", "stsd"})->payload);
    stsd.skip(4);
    EXPECT_EQ(stsd.u32(), 1u);
    EXPECT_EQ(stsd.u32() + 16, mp4_find(trak, {"trak", "mdia", "minf", "stbl", "stsd"})->size);  // one entry fills it
    EXPECT_EQ(stsd.fourcc(), expect[i].entry);
  }

  const std::string_view video(init.data() + traks[0].offset, traks[0].size);
  Mp4Fields avc1(mp4_find(video, {"trak", "mdia", "minf", "stbl", "stsd", "avc1"})->payload);
  avc1.skip(6);
  EXPECT_EQ(avc1.u16(), 1);  // data_reference_index
  avc1.skip(16);
  EXPECT_EQ(avc1.u16(), 640);
  EXPECT_EQ(avc1.u16(), 360);
  const auto avcc = mp4_find(video, {"trak", "mdia", "minf", "stbl", "stsd", "avc1", "avcC"});
  ASSERT_TRUE(avcc);
  EXPECT_EQ(avcc->payload, std::string_view(reinterpret_cast<const char*>(video_info().decoder_config.data()),
                                            video_info().decoder_config.size()));

  const std::string_view audio(init.data() + traks[1].offset, traks[1].size);
  Mp4Fields mp4a(mp4_find(audio, {"trak", "mdia", "minf", "stbl", "stsd", "mp4a"})->payload);
  mp4a.skip(6 + 2 + 8);
  EXPECT_EQ(mp4a.u16(), 2);  // channelcount
  EXPECT_EQ(mp4a.u16(), 16);
  mp4a.skip(4);
  EXPECT_EQ(mp4a.u32(), 48'000u << 16);
  // esds: ES_Descriptor(3) > DecoderConfigDescriptor(4) > DecoderSpecificInfo(5) = the AudioSpecificConfig.
  Mp4Fields esds(mp4_find(audio, {"trak", "mdia", "minf", "stbl", "stsd", "mp4a", "esds"})->payload);
  esds.skip(4);
  EXPECT_EQ(esds.u8(), 0x03);
  const std::uint8_t es_len = esds.u8();
  EXPECT_EQ(es_len, esds.left());
  esds.skip(3);
  EXPECT_EQ(esds.u8(), 0x04);
  esds.u8();
  EXPECT_EQ(esds.u8(), 0x40);  // MPEG-4 audio
  EXPECT_EQ(esds.u8(), 0x15);  // audio stream
  esds.skip(3 + 4 + 4);
  EXPECT_EQ(esds.u8(), 0x05);
  EXPECT_EQ(esds.u8(), 2);
  EXPECT_EQ(esds.bytes(2), std::string_view("\x11\x90", 2));
  EXPECT_EQ(esds.u8(), 0x06);
  EXPECT_EQ(esds.u8(), 1);
  EXPECT_EQ(esds.u8(), 0x02);
  EXPECT_EQ(esds.left(), 0u);

  const auto mvex = mp4_find(init, {"moov", "mvex"});
  const std::vector<Mp4Box> trex = mp4_all(*mvex, "trex");
  ASSERT_EQ(trex.size(), 2u);
  for (std::uint32_t i = 0; i < 2; ++i) {
    Mp4Fields f(trex[i].payload);
    f.skip(4);
    EXPECT_EQ(f.u32(), i + 1);
    EXPECT_EQ(f.u32(), 1u);
  }
}

TEST(Fmp4Writer, AudioOnlyInitHasOneTrackWithId1) {
  const Fmp4Writer writer(std::nullopt, audio_info());
  const std::string init = writer.init_segment();
  const auto moov = mp4_find(init, {"moov"});
  ASSERT_TRUE(moov);
  expect_well_formed(*moov);
  ASSERT_EQ(mp4_all(*moov, "trak").size(), 1u);
  Mp4Fields tkhd(mp4_find(init, {"moov", "trak", "tkhd"})->payload);
  tkhd.skip(12);
  EXPECT_EQ(tkhd.u32(), 1u);
  EXPECT_TRUE(mp4_find(init, {"moov", "trak", "mdia", "minf", "stbl", "stsd", "mp4a", "esds"}));
}

TEST(Fmp4Writer, FragmentTrunsPointAtEachTracksBytesInTheMdat) {
  Fmp4Writer writer(video_info(), audio_info());
  const std::vector<Sample> video = {sample(900'000, 3600, true, 500, 0xA1, 7200),
                                     sample(903'600, 3600, false, 120, 0xA2, 14'400),
                                     sample(907'200, 3600, false, 80, 0xA3, -3600)};
  const std::vector<Sample> audio = {sample(480'000, 1024, true, 200, 0xB1), sample(481'024, 1024, true, 210, 0xB2)};
  const std::string frag = writer.fragment(video, audio);
  const std::vector<Mp4Box> top = mp4_boxes(frag);
  ASSERT_EQ(types(top), (std::vector<std::string>{"moof", "mdat"}));
  expect_well_formed(top[0]);
  EXPECT_EQ(top[1].size, 8u + 500 + 120 + 80 + 200 + 210);

  Mp4Fields mfhd(mp4_find(frag, {"moof", "mfhd"})->payload);
  mfhd.skip(4);
  EXPECT_EQ(mfhd.u32(), 1u);

  const std::vector<Mp4Box> trafs = mp4_all(top[0], "traf");
  ASSERT_EQ(trafs.size(), 2u);
  const std::vector<Sample>* tracks[] = {&video, &audio};
  for (std::size_t i = 0; i < 2; ++i) {
    const std::string_view traf(frag.data() + trafs[i].offset, trafs[i].size);
    Mp4Fields tfhd(mp4_find(traf, {"traf", "tfhd"})->payload);
    EXPECT_EQ(tfhd.u8(), 0);
    const std::uint32_t tfhd_flags = tfhd.u24();
    EXPECT_NE(tfhd_flags & 0x020000, 0u) << "default-base-is-moof";
    EXPECT_EQ(tfhd_flags & 0x000001, 0u) << "no base_data_offset";
    EXPECT_EQ(tfhd.u32(), i + 1);

    Mp4Fields tfdt(mp4_find(traf, {"traf", "tfdt"})->payload);
    EXPECT_EQ(tfdt.u8(), 1);  // 64-bit baseMediaDecodeTime
    tfdt.skip(3);
    EXPECT_EQ(tfdt.u64(), tracks[i]->front().dts);

    const Mp4Trun trun = mp4_read_trun(*mp4_find(traf, {"traf", "trun"}));
    EXPECT_EQ(trun.version, 1);
    ASSERT_EQ(trun.samples.size(), tracks[i]->size());
    // default-base-is-moof: offsets count from the moof's first byte.
    std::size_t at = top[0].offset + static_cast<std::size_t>(trun.data_offset);
    for (std::size_t k = 0; k < trun.samples.size(); ++k) {
      const Sample& s = (*tracks[i])[k];
      EXPECT_EQ(trun.samples[k].duration, s.duration);
      ASSERT_EQ(trun.samples[k].size, s.data.size());
      ASSERT_GE(at, top[1].offset + 8);
      ASSERT_LE(at + s.data.size(), top[1].offset + top[1].size);
      EXPECT_EQ(frag.substr(at, s.data.size()), std::string(s.data.begin(), s.data.end())) << i << "/" << k;
      at += s.data.size();
      if (i == 0) {
        EXPECT_EQ(trun.samples[k].composition_offset, s.composition_offset);
        EXPECT_EQ(trun.samples[k].flags, s.sync ? 0x02000000u : 0x01010000u);
      }
    }
    if (i == 1) {
      EXPECT_EQ(trun.flags & 0xC00, 0u) << "audio: flags from tfhd, no composition offsets";
      EXPECT_EQ(tfhd.u32(), 0x02000000u);  // default_sample_flags: sync
    }
  }

  const std::string next = writer.fragment(video, {});
  Mp4Fields mfhd2(mp4_find(next, {"moof", "mfhd"})->payload);
  mfhd2.skip(4);
  EXPECT_EQ(mfhd2.u32(), 2u);
  EXPECT_EQ(mp4_all(*mp4_find(next, {"moof"}), "traf").size(), 1u);
  EXPECT_EQ(writer.next_sequence_number(), 3u);
}

TEST(Fmp4Writer, NoSamplesNoFragmentAndStypIsAMediaSegmentBrand) {
  Fmp4Writer writer(video_info(), std::nullopt);
  EXPECT_EQ(writer.fragment({}, {}), "");
  const std::vector<Sample> audio = {sample(0, 1024, true, 10, 1)};
  EXPECT_EQ(writer.fragment({}, audio), "") << "no audio track to put them in";
  EXPECT_EQ(writer.next_sequence_number(), 1u);
  EXPECT_EQ(Fmp4Writer::segment_type(), std::string("\x00\x00\x00\x14styp" "msdh\x00\x00\x00\x00" "msdh", 20));
}

TEST(Fmp4Writer, AReplacementWriterGoesOnWithTheSequenceNumbers) {
  Fmp4Writer writer(video_info(), std::nullopt, 42);
  const std::vector<Sample> video = {sample(0, 3600, true, 10, 1)};
  const std::string fragment = writer.fragment(video, {});  // the fields below point into it
  Mp4Fields mfhd(mp4_find(fragment, {"moof", "mfhd"})->payload);
  mfhd.skip(4);
  EXPECT_EQ(mfhd.u32(), 42u);
}
