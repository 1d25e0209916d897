// PacketReader (sync, resync, straddling packets) and ContinuityTracker.
#include <gtest/gtest.h>

#include <random>

#include "segmenter/continuity.hpp"
#include "segmenter/packet_reader.hpp"
#include "ts_builder.hpp"

using namespace hlscache;
using namespace hlscache::ts;
using hlscache::testing::Bytes;

namespace {

// N packets whose bytes 4.. carry the packet index, so order and content are checkable.
Bytes numbered_packets(int n) {
  Bytes b;
  for (int i = 0; i < n; ++i) {
    std::uint8_t p[188];
    std::memset(p, static_cast<int>(0x10 + i % 0x20), sizeof p);
    p[0] = 0x47;
    p[1] = 0x01;
    p[2] = 0x00;
    p[3] = 0x10;
    p[4] = static_cast<std::uint8_t>(i);
    b.insert(b.end(), p, p + 188);
  }
  return b;
}

struct Collected {
  std::vector<int> indices;
  std::size_t batches = 0;
};

Collected feed_in_pieces(PacketReader& r, const Bytes& data, const std::vector<std::size_t>& sizes) {
  Collected c;
  std::size_t at = 0;
  std::size_t k = 0;
  while (at < data.size()) {
    const std::size_t n = std::min(sizes[k++ % sizes.size()], data.size() - at);
    r.feed(data.data() + at, n, [&](const std::uint8_t* first, std::size_t count) {
      ++c.batches;
      for (std::size_t i = 0; i < count; ++i) {
        EXPECT_EQ(first[i * 188], 0x47);
        c.indices.push_back(first[i * 188 + 4]);
      }
    });
    at += n;
  }
  return c;
}

std::vector<int> iota(int n) {
  std::vector<int> v(n);
  for (int i = 0; i < n; ++i) v[i] = i;
  return v;
}

}  // namespace

TEST(PacketReader, AlignedChunkIsOneBatchInPlace) {
  const Bytes data = numbered_packets(50);
  PacketReader r;
  std::size_t batches = 0;
  r.feed(data.data(), data.size(), [&](const std::uint8_t* first, std::size_t count) {
    ++batches;
    EXPECT_EQ(first, data.data());  // handed out where it lies: no copy
    EXPECT_EQ(count, 50u);
  });
  EXPECT_EQ(batches, 1u);
  EXPECT_EQ(r.stats().packets, 50u);
  EXPECT_EQ(r.stats().bytes_skipped, 0u);
  EXPECT_EQ(r.buffered(), 0u);
}

TEST(PacketReader, PacketSplitAcrossChunksIsReassembled) {
  const Bytes data = numbered_packets(10);
  PacketReader r;
  auto c = feed_in_pieces(r, data, {100, 300, 1, 187, 189});
  EXPECT_EQ(c.indices, iota(10));
  EXPECT_EQ(r.stats().sync_losses, 0u);
  EXPECT_EQ(r.stats().bytes_skipped, 0u);
}

TEST(PacketReader, ByteAtATimeStillYieldsEveryPacket) {
  const Bytes data = numbered_packets(12);
  PacketReader r;
  auto c = feed_in_pieces(r, data, {1});
  EXPECT_EQ(c.indices, iota(12));
}

TEST(PacketReader, SkipsLeadingGarbageIncludingFalseSyncBytes) {
  Bytes data(100, 0x00);
  data[10] = 0x47;  // a lone sync byte not followed by others at +188
  data[57] = 0x47;
  const Bytes packets = numbered_packets(8);
  data.insert(data.end(), packets.begin(), packets.end());
  PacketReader r;
  auto c = feed_in_pieces(r, data, {64});
  EXPECT_EQ(c.indices, iota(8));
  EXPECT_EQ(r.stats().bytes_skipped, 100u);
  EXPECT_EQ(r.stats().resyncs, 0u);  // first sync, not a resync
}

TEST(PacketReader, ResyncsAfterGarbageInTheMiddle) {
  const Bytes packets = numbered_packets(20);
  Bytes data(packets.begin(), packets.begin() + 7 * 188);
  for (int i = 0; i < 50; ++i) data.push_back(static_cast<std::uint8_t>(i == 20 ? 0x47 : 0xAB));
  data.insert(data.end(), packets.begin() + 7 * 188, packets.end());
  for (std::vector<std::size_t> sizes : {std::vector<std::size_t>{data.size()}, {65536}, {7}, {188}, {333, 41}}) {
    PacketReader r;
    auto c = feed_in_pieces(r, data, sizes);
    EXPECT_EQ(c.indices, iota(20));
    EXPECT_EQ(r.stats().sync_losses, 1u);
    EXPECT_EQ(r.stats().resyncs, 1u);
    EXPECT_EQ(r.stats().bytes_skipped, 50u);
  }
}

// A packet is judged by its own sync byte: the truncated one still passes (it starts
// with 0x47), the break shows at the next position, and the packet overwritten by the
// truncated one's tail is lost up to the next confirmed sync.
TEST(PacketReader, TruncatedPacketIsCaughtAtTheNextSyncPosition) {
  const Bytes packets = numbered_packets(10);
  Bytes data(packets.begin(), packets.begin() + 4 * 188 + 100);  // packet 4 cut short
  data.insert(data.end(), packets.begin() + 5 * 188, packets.end());
  std::mt19937 rng(7);
  PacketReader r;
  std::vector<std::size_t> sizes;
  for (int i = 0; i < 50; ++i) sizes.push_back(1 + rng() % 400);
  auto c = feed_in_pieces(r, data, sizes);
  EXPECT_EQ(c.indices, (std::vector<int>{0, 1, 2, 3, 4, 6, 7, 8, 9}));
  EXPECT_EQ(r.stats().sync_losses, 1u);
  EXPECT_EQ(r.stats().bytes_skipped, 100u);  // the rest of packet 5
}

TEST(PacketReader, ResetDropsPartialPacket) {
  const Bytes data = numbered_packets(4);
  PacketReader r;
  std::size_t delivered = 0;
  r.feed(data.data(), 3 * 188 + 62, [&](const std::uint8_t*, std::size_t n) { delivered += n; });
  EXPECT_EQ(delivered, 3u);
  EXPECT_EQ(r.buffered(), 62u);
  r.reset();
  EXPECT_EQ(r.buffered(), 0u);
  EXPECT_EQ(r.stats().bytes_skipped, 62u);
}

TEST(Continuity, CountsJumpsAndAcceptsOneDuplicate) {
  ContinuityTracker t;
  EXPECT_EQ(t.check(0x100, 5, true, false), Continuity::ok);  // first packet: anything goes
  EXPECT_EQ(t.check(0x100, 6, true, false), Continuity::ok);
  EXPECT_EQ(t.check(0x100, 6, true, false), Continuity::duplicate);
  EXPECT_EQ(t.check(0x100, 6, true, false), Continuity::error);  // a second repeat is not a duplicate
  EXPECT_EQ(t.check(0x100, 7, true, false), Continuity::ok);
  EXPECT_EQ(t.check(0x100, 9, true, false), Continuity::error);  // lost one
  EXPECT_EQ(t.check(0x100, 10, true, false), Continuity::ok);
  EXPECT_EQ(t.errors(), 2u);
  EXPECT_EQ(t.duplicates(), 1u);
}

TEST(Continuity, WrapsAndKeepsPidsApart) {
  ContinuityTracker t;
  EXPECT_EQ(t.check(0x100, 15, true, false), Continuity::ok);
  EXPECT_EQ(t.check(0x101, 3, true, false), Continuity::ok);
  EXPECT_EQ(t.check(0x100, 0, true, false), Continuity::ok);
  EXPECT_EQ(t.check(0x101, 4, true, false), Continuity::ok);
  EXPECT_EQ(t.errors(), 0u);
}

TEST(Continuity, AdaptationOnlyPacketsDoNotAdvance) {
  ContinuityTracker t;
  EXPECT_EQ(t.check(0x100, 3, true, false), Continuity::ok);
  EXPECT_EQ(t.check(0x100, 3, false, false), Continuity::ok);  // no payload: same counter
  EXPECT_EQ(t.check(0x100, 4, true, false), Continuity::ok);
  EXPECT_EQ(t.check(0x100, 5, false, false), Continuity::error);  // no payload must not advance
  EXPECT_EQ(t.errors(), 1u);
}

TEST(Continuity, DiscontinuityIndicatorAndResetAcceptAnyCounter) {
  ContinuityTracker t;
  EXPECT_EQ(t.check(0x100, 3, true, false), Continuity::ok);
  EXPECT_EQ(t.check(0x100, 11, true, true), Continuity::ok);
  EXPECT_EQ(t.check(0x100, 12, true, false), Continuity::ok);
  t.reset();
  EXPECT_EQ(t.check(0x100, 2, true, false), Continuity::ok);
  EXPECT_EQ(t.errors(), 0u);
}
