#include "segmenter/timestamp_rewriter.hpp"

#include "segmenter/pes.hpp"
#include "segmenter/timestamp.hpp"
#include "segmenter/ts_packet.hpp"

namespace hlscache::ts {
bool read_pcr(const std::uint8_t* p, std::uint64_t& pcr) noexcept {
  if (p[0] != kSyncByte || (p[3] & 0x20) == 0 || p[4] < 7 || (p[5] & 0x10) == 0) return false;
  const std::uint64_t base = (std::uint64_t{p[6]} << 25) | (std::uint64_t{p[7]} << 17) | (std::uint64_t{p[8]} << 9) |
                             (std::uint64_t{p[9]} << 1) | (p[10] >> 7);
  const std::uint64_t ext = ((std::uint64_t{p[10]} & 1) << 8) | p[11];
  pcr = base * 300 + ext;
  return true;
}

void TimestampRewriter::rewrite(std::uint8_t* data, std::size_t n) noexcept {
  if ((offset_ & kTimestampMask) == 0) return;
  for (std::size_t off = 0; off + kPacketSize <= n; off += kPacketSize) {
    std::uint8_t* p = data + off;
    if (p[0] != kSyncByte || packet_pid(p) == kNullPid) continue;
    rewrite_packet(p);
  }
}

void TimestampRewriter::rewrite_packet(std::uint8_t* p) noexcept {
  const unsigned afc = (p[3] >> 4) & 0x3;
  std::size_t payload = 4;
  if ((afc & 0x2) != 0) {
    const std::size_t len = p[4];
    if (len > 183) return;  // malformed: leave the packet alone
    if (len >= 7 && (p[5] & 0x10) != 0) {
      std::uint64_t base = (std::uint64_t{p[6]} << 25) | (std::uint64_t{p[7]} << 17) | (std::uint64_t{p[8]} << 9) |
                           (std::uint64_t{p[9]} << 1) | (p[10] >> 7);
      base = (base + offset_) & kTimestampMask;
      p[6] = static_cast<std::uint8_t>(base >> 25);
      p[7] = static_cast<std::uint8_t>(base >> 17);
      p[8] = static_cast<std::uint8_t>(base >> 9);
      p[9] = static_cast<std::uint8_t>(base >> 1);
      p[10] = static_cast<std::uint8_t>((p[10] & 0x7F) | ((base & 1) << 7));  // keeps reserved bits and extension
      ++pcrs_;
    }
    payload = 5 + len;
  }
  const bool unit_start = (p[1] & 0x40) != 0;
  if ((afc & 0x1) == 0 || !unit_start || payload >= kPacketSize) return;
  std::uint8_t* h = p + payload;
  const std::size_t room = kPacketSize - payload;
  // A PES start code (PSI sections on a unit start begin with a pointer field, never 00 00 01).
  if (room < 3 || h[0] != 0 || h[1] != 0 || h[2] != 1) return;
  if (room < 9) {
    ++split_;
    return;
  }
  if (!pes_has_optional_header(h[3]) || (h[6] & 0xC0) != 0x80) return;
  const unsigned flags = h[7] >> 6;
  if (flags < 2) return;  // no PTS (1 is forbidden)
  if (room < (flags == 3 ? 19u : 14u)) {
    ++split_;
    return;
  }
  write_timestamp(h + 9, timestamp_add(read_timestamp(h + 9), static_cast<std::int64_t>(offset_ & kTimestampMask)));
  if (flags == 3)
    write_timestamp(h + 14, timestamp_add(read_timestamp(h + 14), static_cast<std::int64_t>(offset_ & kTimestampMask)));
  ++headers_;
}

}  // namespace hlscache::ts
