// PES headers, PTS/DTS decoding and 33-bit timestamp arithmetic.
#include <gtest/gtest.h>

#include "segmenter/pes.hpp"
#include "segmenter/timestamp.hpp"
#include "segmenter/ts_packet.hpp"
#include "ts_builder.hpp"

using namespace hlscache::ts;
using namespace hlscache::testing;

namespace {

// The PES bytes of the first packet of a TsWriter PES, from the payload start.
Bytes first_payload(const PesOptions& o, const Bytes& es) {
  TsWriter w;
  w.pes(0x100, es, o);
  const PacketInfo info = parse_packet(w.out.data());
  return Bytes(w.out.begin() + info.payload_offset, w.out.begin() + 188);
}

}  // namespace

TEST(Pes, ParsesPtsOnly) {
  PesOptions o;
  o.pts = 123456789;
  const Bytes p = first_payload(o, Bytes(50, 0xAA));
  PesHeader h;
  ASSERT_EQ(parse_pes_header(p.data(), p.size(), h), PesParse::ok);
  EXPECT_EQ(h.stream_id, 0xE0);
  EXPECT_TRUE(h.has_pts);
  EXPECT_FALSE(h.has_dts);
  EXPECT_EQ(h.pts, 123456789u);
  EXPECT_EQ(h.dts, h.pts);
  EXPECT_EQ(h.header_size, 14u);
  EXPECT_EQ(p[h.header_size], 0xAA);
}

TEST(Pes, ParsesPtsAndDtsNearTheWrap) {
  PesOptions o;
  o.with_dts = true;
  o.pts = kTimestampModulus - 1;  // the largest 33-bit value
  o.dts = kTimestampModulus - 3600;
  const Bytes p = first_payload(o, Bytes(10, 0xAA));
  PesHeader h;
  ASSERT_EQ(parse_pes_header(p.data(), p.size(), h), PesParse::ok);
  EXPECT_EQ(h.pts, kTimestampModulus - 1);
  EXPECT_EQ(h.dts, kTimestampModulus - 3600);
  EXPECT_EQ(h.header_size, 19u);
}

TEST(Pes, TruncatedHeaderNeedsMoreAndGarbageIsInvalid) {
  PesOptions o;
  o.with_dts = true;
  const Bytes p = first_payload(o, Bytes(10, 0xAA));
  PesHeader h;
  EXPECT_EQ(parse_pes_header(p.data(), 12, h), PesParse::need_more);
  const std::uint8_t junk[] = {0x00, 0x00, 0x02, 0xE0, 0, 0, 0x80, 0x80, 5};
  EXPECT_EQ(parse_pes_header(junk, sizeof junk, h), PesParse::invalid);
}

TEST(Pes, AssemblerJoinsAHeaderSplitAcrossPackets) {
  PesOptions o;
  o.with_dts = true;
  o.pts = 900000;
  o.dts = 896400;
  const Bytes p = first_payload(o, Bytes(10, 0xAA));
  PesHeaderAssembler a;
  a.start();
  PesHeader h;
  std::size_t consumed = 0;
  EXPECT_EQ(a.feed(p.data(), 7, h, consumed), PesParse::need_more);
  EXPECT_EQ(a.feed(p.data() + 7, 6, h, consumed), PesParse::need_more);
  ASSERT_EQ(a.feed(p.data() + 13, p.size() - 13, h, consumed), PesParse::ok);
  EXPECT_EQ(consumed, 19u - 13u);
  EXPECT_EQ(h.pts, 900000u);
  EXPECT_EQ(h.dts, 896400u);
}

TEST(Timestamp, DeltaIsSignedAndWrapAware) {
  EXPECT_EQ(timestamp_delta(1000, 4600), 3600);
  EXPECT_EQ(timestamp_delta(4600, 1000), -3600);
  // 2 s before the wrap to 1 s after it: 3 s forward.
  EXPECT_EQ(timestamp_delta(kTimestampModulus - 180000, 90000), 270000);
  EXPECT_EQ(timestamp_delta(90000, kTimestampModulus - 180000), -270000);
  EXPECT_EQ(timestamp_add(kTimestampModulus - 10, 20), 10u);
  EXPECT_EQ(timestamp_add(5, -10), kTimestampModulus - 5);
  EXPECT_DOUBLE_EQ(ticks_to_seconds(180000), 2.0);
}

TEST(PacketHeader, ParsesAdaptationFieldFlagsAndPcr) {
  TsWriter w;
  PesOptions o;
  o.random_access = true;
  o.discontinuity = true;
  o.with_pcr = true;
  o.pcr = (std::uint64_t{1} << 33) - 2;
  w.pes(0x1ABC, Bytes(20, 0xAA), o);
  const PacketInfo info = parse_packet(w.out.data());
  EXPECT_TRUE(info.valid);
  EXPECT_EQ(info.pid, 0x1ABC);
  EXPECT_TRUE(info.payload_unit_start);
  EXPECT_TRUE(info.random_access);
  EXPECT_TRUE(info.discontinuity);
  ASSERT_TRUE(info.has_pcr);
  EXPECT_EQ(info.pcr_base, (std::uint64_t{1} << 33) - 2);
  EXPECT_EQ(w.out[info.payload_offset], 0x00);  // the PES start code follows the stuffing
  EXPECT_EQ(w.out[info.payload_offset + 2], 0x01);
}

TEST(PacketHeader, ReservedAdaptationControlIsInvalid) {
  std::uint8_t p[188] = {0x47, 0x01, 0x00, 0x05};
  EXPECT_FALSE(parse_packet(p).valid);
  p[3] = 0x20;  // adaptation only, but its length is not 183
  p[4] = 10;
  EXPECT_FALSE(parse_packet(p).valid);
}
