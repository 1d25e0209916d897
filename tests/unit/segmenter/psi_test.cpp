// CRC32, section assembly across packets, PAT/PMT parsing and ProgramTracker
// (roles, version changes, PSI packets kept for re-emission).
#include <gtest/gtest.h>

#include <cstring>

#include "segmenter/program_tracker.hpp"
#include "segmenter/psi_section.hpp"
#include "segmenter/psi_tables.hpp"
#include "ts_builder.hpp"

using namespace hlscache;
using namespace hlscache::ts;
using namespace hlscache::testing;

TEST(Crc32, MatchesTheMpeg2CheckValue) {
  const char* s = "123456789";
  EXPECT_EQ(crc32_mpeg2(reinterpret_cast<const std::uint8_t*>(s), 9), 0x0376E6E7u);
}

TEST(Crc32, IsZeroOverASectionWithItsCrc) {
  const Bytes pat = pat_section(1, 0x1000, 0);
  EXPECT_EQ(crc32_mpeg2(pat.data(), pat.size()), 0u);
}

TEST(SectionAssembler, SectionSpanningPacketsAndTwoSectionsInOnePayload) {
  const Bytes a = pmt_section(1, 0x100, {{0x1B, 0x100}, {0x0F, 0x101}}, 0);
  const Bytes b = pat_section(7, 0x200, 3);
  // Payload 1: pointer 0, then the first 10 bytes of `a`.
  Bytes p1 = {0x00};
  p1.insert(p1.end(), a.begin(), a.begin() + 10);
  // Payload 2 (no PUSI): the rest of `a`.
  Bytes p2(a.begin() + 10, a.end());
  // Payload 3: pointer 0, `b` twice, then stuffing.
  Bytes p3 = {0x00};
  p3.insert(p3.end(), b.begin(), b.end());
  p3.insert(p3.end(), b.begin(), b.end());
  p3.insert(p3.end(), 20, 0xFF);

  SectionAssembler sa;
  std::vector<Bytes> got;
  auto collect = [&](const std::uint8_t* s, std::size_t n) { got.emplace_back(s, s + n); };
  sa.feed(p1.data(), p1.size(), true, collect);
  EXPECT_TRUE(got.empty());
  sa.feed(p2.data(), p2.size(), false, collect);
  sa.feed(p3.data(), p3.size(), true, collect);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], a);
  EXPECT_EQ(got[1], b);
  EXPECT_EQ(got[2], b);
  EXPECT_EQ(sa.errors(), 0u);
}

TEST(SectionAssembler, PointerFieldFinishesThePreviousSection) {
  const Bytes a = pat_section(1, 0x1000, 0);
  const Bytes b = pat_section(2, 0x1001, 1);
  Bytes p1 = {0x00};
  p1.insert(p1.end(), a.begin(), a.begin() + 5);
  Bytes p2 = {static_cast<std::uint8_t>(a.size() - 5)};
  p2.insert(p2.end(), a.begin() + 5, a.end());
  p2.insert(p2.end(), b.begin(), b.end());
  SectionAssembler sa;
  std::vector<Bytes> got;
  auto collect = [&](const std::uint8_t* s, std::size_t n) { got.emplace_back(s, s + n); };
  sa.feed(p1.data(), p1.size(), true, collect);
  sa.feed(p2.data(), p2.size(), true, collect);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], a);
  EXPECT_EQ(got[1], b);
}

TEST(SectionAssembler, ContinuationWithoutAStartIsIgnoredAndResetDropsPartial) {
  const Bytes a = pat_section(1, 0x1000, 0);
  SectionAssembler sa;
  int calls = 0;
  auto count = [&](const std::uint8_t*, std::size_t) { ++calls; };
  sa.feed(a.data(), a.size(), false, count);  // no PUSI seen yet: not a section start
  Bytes p1 = {0x00};
  p1.insert(p1.end(), a.begin(), a.begin() + 6);
  sa.feed(p1.data(), p1.size(), true, count);
  sa.reset();  // e.g. a continuity error
  sa.feed(a.data() + 6, a.size() - 6, false, count);
  EXPECT_EQ(calls, 0);
}

TEST(PsiTables, ParsesPat) {
  const Bytes s = pat_section(5, 0x0123, 9);
  auto pat = parse_pat(s.data(), s.size());
  ASSERT_TRUE(pat.ok()) << pat.error().message;
  EXPECT_EQ(pat->version, 9);
  EXPECT_TRUE(pat->current);
  ASSERT_EQ(pat->programs.size(), 1u);
  EXPECT_EQ(pat->programs[0].program_number, 5);
  EXPECT_EQ(pat->programs[0].pmt_pid, 0x0123);
}

TEST(PsiTables, ParsesPmtAndClassifiesStreams) {
  const Bytes s = pmt_section(1, 0x100, {{0x1B, 0x100}, {0x0F, 0x101}, {0x24, 0x102}, {0x15, 0x103}}, 4);
  auto pmt = parse_pmt(s.data(), s.size());
  ASSERT_TRUE(pmt.ok()) << pmt.error().message;
  EXPECT_EQ(pmt->version, 4);
  EXPECT_EQ(pmt->pcr_pid, 0x100);
  ASSERT_EQ(pmt->streams.size(), 4u);
  EXPECT_EQ(pmt->streams[0].kind, StreamKind::h264);
  EXPECT_EQ(pmt->streams[1].kind, StreamKind::aac_adts);
  EXPECT_EQ(pmt->streams[2].kind, StreamKind::h265);
  EXPECT_EQ(pmt->streams[3].kind, StreamKind::other);
  EXPECT_EQ(pmt->streams[3].pid, 0x103);
}

TEST(PsiTables, RejectsBadCrcAndWrongTable) {
  Bytes s = pat_section(1, 0x1000, 0);
  s[9] ^= 0x01;
  auto r = parse_pat(s.data(), s.size());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("CRC"), std::string::npos);
  const Bytes pmt = pmt_section(1, 0x100, {{0x1B, 0x100}}, 0);
  EXPECT_FALSE(parse_pat(pmt.data(), pmt.size()).ok());
}

namespace {

// Feeds every packet of `ts` on PID 0 / the PMT PID to the tracker, as the cutter does.
int feed_psi(ProgramTracker& t, const Bytes& ts) {
  int changes = 0;
  for (std::size_t at = 0; at + 188 <= ts.size(); at += 188) {
    const PacketInfo info = parse_packet(ts.data() + at);
    const PidRole role = t.role(info.pid);
    if (role == PidRole::pat || role == PidRole::pmt) changes += t.on_psi_packet(ts.data() + at, info, false) ? 1 : 0;
  }
  return changes;
}

}  // namespace

TEST(ProgramTracker, FollowsPatThenPmtAndAssignsRoles) {
  TsWriter w;
  w.pat();
  w.pmt({{0x1B, 0x100}, {0x0F, 0x101}, {0x06, 0x102}}, 0x100);
  ProgramTracker t;
  EXPECT_FALSE(t.ready());
  EXPECT_EQ(feed_psi(t, w.out), 2);  // PAT (new program) and PMT
  EXPECT_TRUE(t.ready());
  EXPECT_EQ(t.role(0x1000), PidRole::pmt);
  EXPECT_EQ(t.role(0x100), PidRole::video);
  EXPECT_EQ(t.role(0x101), PidRole::audio);
  EXPECT_EQ(t.role(0x102), PidRole::other_es);
  EXPECT_EQ(t.video_kind(), StreamKind::h264);
  EXPECT_EQ(t.pcr_pid(), 0x100);
  // The packets to re-emit are the PAT packet then the PMT packet, verbatim.
  ASSERT_EQ(t.psi_packets().size(), 2u * 188);
  EXPECT_EQ(std::memcmp(t.psi_packets().data(), w.out.data(), 2 * 188), 0);
}

TEST(ProgramTracker, RepeatsAreCheapAndRefreshTheCopiedPackets) {
  TsWriter w;
  w.pat();
  w.pmt({{0x1B, 0x100}}, 0x100);
  ProgramTracker t;
  feed_psi(t, w.out);
  TsWriter again = w;  // same tables, next continuity counters
  again.out.clear();
  again.pat();
  again.pmt({{0x1B, 0x100}}, 0x100);
  EXPECT_EQ(feed_psi(t, again.out), 0);
  EXPECT_EQ(t.stats().pmt_changes, 1u);
  EXPECT_EQ(std::memcmp(t.psi_packets().data(), again.out.data(), 2 * 188), 0);  // CC of the latest copies
}

TEST(ProgramTracker, PmtVersionChangeMovesTheStreams) {
  TsWriter w;
  w.pat();
  w.pmt({{0x1B, 0x100}, {0x0F, 0x101}}, 0x100);
  ProgramTracker t;
  feed_psi(t, w.out);
  w.out.clear();
  w.pmt_version = 1;
  w.pmt({{0x24, 0x200}}, 0x200);
  EXPECT_EQ(feed_psi(t, w.out), 1);
  EXPECT_EQ(t.role(0x100), PidRole::none);
  EXPECT_EQ(t.role(0x101), PidRole::none);
  EXPECT_EQ(t.role(0x200), PidRole::video);
  EXPECT_EQ(t.video_kind(), StreamKind::h265);
  EXPECT_EQ(t.audio_pid(), kNullPid);
  EXPECT_EQ(t.stats().pmt_changes, 2u);
}

TEST(ProgramTracker, PatVersionChangeMovesThePmt) {
  TsWriter w;
  w.pat();
  w.pmt({{0x1B, 0x100}}, 0x100);
  ProgramTracker t;
  feed_psi(t, w.out);
  w.out.clear();
  w.pat_version = 1;
  w.pmt_pid = 0x1100;
  w.pat();
  EXPECT_EQ(feed_psi(t, w.out), 1);
  EXPECT_FALSE(t.ready());  // the new PMT has not been seen yet
  EXPECT_EQ(t.role(0x1000), PidRole::none);
  EXPECT_EQ(t.role(0x1100), PidRole::pmt);
  w.out.clear();
  w.pmt({{0x1B, 0x300}}, 0x300);
  EXPECT_EQ(feed_psi(t, w.out), 1);
  EXPECT_EQ(t.video_pid(), 0x300);
}

TEST(ProgramTracker, CorruptSectionIsCountedAndIgnored) {
  TsWriter w;
  w.pat();
  w.out[4 + 1 + 9] ^= 0xFF;  // a byte inside the PAT section
  ProgramTracker t;
  EXPECT_EQ(feed_psi(t, w.out), 0);
  EXPECT_EQ(t.stats().crc_errors, 1u);
  EXPECT_EQ(t.role(0x1000), PidRole::none);
}
