// TimestampRewriter: PES PTS and DTS and the adaptation field's PCR move by the
// offset (marker bits, prefixes and the PCR extension kept, nothing else touched),
// the 33-bit wrap, PSI / null / continuation packets left alone, a PES header split
// across packets counted and left alone; read_pcr.
#include <gtest/gtest.h>

#include "segmenter/pes.hpp"
#include "segmenter/timestamp.hpp"
#include "segmenter/timestamp_rewriter.hpp"
#include "segmenter/ts_packet.hpp"
#include "ts_builder.hpp"

using namespace hlscache;
using namespace hlscache::ts;
using namespace hlscache::testing;

namespace {

constexpr std::uint16_t kVideo = 0x100;

// One video PES on its own: PTS, DTS, PCR (with a non-zero extension written by hand).
Bytes video_pes(std::uint64_t pts, std::uint64_t dts, std::uint64_t pcr_base, std::uint16_t pcr_ext = 0x1AB) {
  TsWriter w;
  PesOptions o;
  o.with_pcr = true;
  o.with_dts = true;
  o.random_access = true;
  o.pts = pts;
  o.dts = dts;
  o.pcr = pcr_base;
  w.pes(kVideo, Bytes(600, 0x42), o);
  Bytes b = std::move(w.out);
  b[10] = static_cast<std::uint8_t>((b[10] & 0xFE) | (pcr_ext >> 8));
  b[11] = static_cast<std::uint8_t>(pcr_ext);
  return b;
}

PesHeader header_of(const Bytes& b) {
  const PacketInfo info = parse_packet(b.data());
  PesHeader h;
  EXPECT_EQ(parse_pes_header(b.data() + info.payload_offset, 188 - info.payload_offset, h), PesParse::ok);
  return h;
}

}  // namespace

TEST(TimestampRewriter, MovesPtsDtsAndPcrByTheOffset) {
  const Bytes before = video_pes(900'000, 896'400, 893'000);
  Bytes after = before;
  TimestampRewriter r;
  r.set_offset(902'400);  // one pass of a 10.027 s file
  r.rewrite(after.data(), after.size());

  const PesHeader h = header_of(after);
  EXPECT_EQ(h.pts, 900'000u + 902'400u);
  EXPECT_EQ(h.dts, 896'400u + 902'400u);
  const PacketInfo info = parse_packet(after.data());
  ASSERT_TRUE(info.has_pcr);
  EXPECT_EQ(info.pcr_base, 893'000u + 902'400u);
  EXPECT_EQ(info.pcr_extension, 0x1AB);
  std::uint64_t pcr = 0;
  ASSERT_TRUE(read_pcr(after.data(), pcr));
  EXPECT_EQ(pcr, (893'000u + 902'400u) * 300 + 0x1AB);
  EXPECT_EQ(r.headers_rewritten(), 1u);
  EXPECT_EQ(r.pcrs_rewritten(), 1u);

  // Only the 33 timestamp bits of each field changed: prefixes ('0011' PTS, '0001'
  // DTS), marker bits, the PCR's reserved bits, the rest of the packets as they were.
  const std::size_t pes = info.payload_offset;
  EXPECT_EQ(after[pes + 9] >> 4, 0x3);
  EXPECT_EQ(after[pes + 14] >> 4, 0x1);
  for (const std::size_t f : {pes + 9, pes + 14}) {
    EXPECT_EQ(after[f] & 1, 1);
    EXPECT_EQ(after[f + 2] & 1, 1);
    EXPECT_EQ(after[f + 4] & 1, 1);
  }
  EXPECT_EQ(after[10] & 0x7E, before[10] & 0x7E);
  for (std::size_t i = 0; i < before.size(); ++i) {
    const bool pcr_byte = i >= 6 && i <= 10;
    const bool ts_byte = (i >= pes + 9 && i < pes + 19);
    if (!pcr_byte && !ts_byte) {
      ASSERT_EQ(after[i], before[i]) << "byte " << i;
    }
  }
}

TEST(TimestampRewriter, WrapsAt33Bits) {
  constexpr std::uint64_t kTop = kTimestampModulus - 1000;
  Bytes b = video_pes(kTop, kTop - 3600, kTop - 7200);
  TimestampRewriter r;
  r.set_offset(9000);
  r.rewrite(b.data(), b.size());
  const PesHeader h = header_of(b);
  EXPECT_EQ(h.pts, 8000u);
  EXPECT_EQ(h.dts, 4400u);
  EXPECT_EQ(parse_packet(b.data()).pcr_base, 800u);
  // Seen from the cutter's arithmetic, time went forward by the offset.
  EXPECT_EQ(timestamp_delta(kTop, h.pts), 9000);

  // An offset of n x 2^33 plus d is the same as d.
  Bytes c = video_pes(100, 100, 50);
  r.set_offset(3 * kTimestampModulus + 7);
  r.rewrite(c.data(), c.size());
  EXPECT_EQ(header_of(c).pts, 107u);
  EXPECT_EQ(parse_packet(c.data()).pcr_base, 57u);
}

TEST(TimestampRewriter, ZeroOffsetChangesNothing) {
  StreamOptions o;
  o.frames = 30;
  const Bytes before = make_stream(o);
  for (const std::uint64_t offset : {std::uint64_t{0}, kTimestampModulus}) {
    Bytes b = before;
    TimestampRewriter r;
    r.set_offset(offset);
    r.rewrite(b.data(), b.size());
    EXPECT_EQ(b, before);
  }
}

TEST(TimestampRewriter, LeavesPsiNullAndContinuationPacketsAlone) {
  TsWriter w;
  w.pat();
  w.pmt({{0x1B, kVideo}, {0x0F, 0x101}}, kVideo);
  w.null_packet();
  PesOptions o;  // no PCR: a multi-packet PES whose continuation packets carry ES bytes only
  o.pts = 1000;
  Bytes payload(1000, 0x00);
  payload[200] = 0x01;  // looks like a start code in a continuation packet: never read as one
  w.pes(kVideo, payload, o);
  PesOptions a;
  a.stream_id = 0xC0;
  a.pts = 2000;
  w.pes(0x101, adts_frame(100), a);
  const Bytes before = w.out;
  Bytes b = before;
  TimestampRewriter r;
  r.set_offset(90'000);
  r.rewrite(b.data(), b.size());
  EXPECT_EQ(r.headers_rewritten(), 2u);
  EXPECT_EQ(r.pcrs_rewritten(), 0u);
  std::size_t changed_packets = 0;
  for (std::size_t at = 0; at < b.size(); at += 188) {
    if (!std::equal(b.begin() + at, b.begin() + at + 188, before.begin() + at)) {
      ++changed_packets;
      EXPECT_TRUE(parse_packet(b.data() + at).payload_unit_start) << "packet " << at / 188;
    }
  }
  EXPECT_EQ(changed_packets, 2u);  // the two PES starts, nothing else
}

TEST(TimestampRewriter, AHeaderSplitAcrossPacketsIsCountedAndLeftAlone) {
  // A PES start whose adaptation field leaves 8 payload bytes: not even the fixed header fits.
  std::array<std::uint8_t, 188> p{};
  p[0] = 0x47;
  p[1] = 0x40 | (kVideo >> 8);
  p[2] = kVideo & 0xFF;
  p[3] = 0x30;  // adaptation + payload
  p[4] = 175;   // 5 + 175 = 180: 8 bytes of payload
  p[5] = 0x00;
  for (std::size_t i = 6; i < 180; ++i) p[i] = 0xFF;
  const std::uint8_t pes[8] = {0x00, 0x00, 0x01, 0xE0, 0x00, 0x00, 0x80, 0xC0};
  std::copy(std::begin(pes), std::end(pes), p.begin() + 180);
  // And one with room for the fixed header and the PTS but not the DTS.
  std::array<std::uint8_t, 188> q = p;
  q[4] = 169;  // 14 bytes of payload
  const std::uint8_t pes2[14] = {0x00, 0x00, 0x01, 0xE0, 0x00, 0x00, 0x80, 0xC0, 0x0A, 0x31, 0x00, 0x01, 0x00, 0x01};
  for (std::size_t i = 6; i < 174; ++i) q[i] = 0xFF;
  std::copy(std::begin(pes2), std::end(pes2), q.begin() + 174);
  Bytes b(p.begin(), p.end());
  b.insert(b.end(), q.begin(), q.end());
  const Bytes before = b;
  TimestampRewriter r;
  r.set_offset(1234);
  r.rewrite(b.data(), b.size());
  EXPECT_EQ(b, before);
  EXPECT_EQ(r.headers_split(), 2u);
  EXPECT_EQ(r.headers_rewritten(), 0u);
}

TEST(TimestampRewriter, PesWithoutOptionalHeaderIsLeftAlone) {
  TsWriter w;
  PesOptions o;
  o.stream_id = 0xBE;  // padding_stream: bytes after PES_packet_length are data, never flags
  w.pes(0x102, Bytes(50, 0xC0), o);
  Bytes b = w.out;
  // Padding bytes that happen to look like an optional header with PTS and DTS.
  const PacketInfo info = parse_packet(b.data());
  const std::size_t h = info.payload_offset;
  b[h + 6] = 0x80;
  b[h + 7] = 0xC0;
  b[h + 8] = 0x0A;
  for (std::size_t i = h + 9; i < 188; ++i) b[i] = 0x21;
  const Bytes before = b;
  TimestampRewriter r;
  r.set_offset(90'000);
  r.rewrite(b.data(), b.size());
  EXPECT_EQ(b, before);
}

TEST(TimestampRewriter, ReadPcr) {
  const Bytes b = video_pes(0, 0, (std::uint64_t{1} << 33) - 1, 299);
  std::uint64_t pcr = 0;
  ASSERT_TRUE(read_pcr(b.data(), pcr));
  EXPECT_EQ(pcr, ((std::uint64_t{1} << 33) - 1) * 300 + 299);
  TsWriter w;
  w.pat();
  EXPECT_FALSE(read_pcr(w.out.data(), pcr));
}
