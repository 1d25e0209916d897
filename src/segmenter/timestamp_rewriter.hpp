// TimestampRewriter: moves every timestamp of a transport stream by one offset, in
// place — the PTS and DTS of each PES header (ISO/IEC 13818-1 §2.4.3.7) and the PCR
// base of each adaptation field (§2.4.3.5) — modulo 2^33, so that a file played
// again after itself continues the first pass's timeline (the looped file source,
// docs/segmenter.md). Only the 33-bit fields change: prefix and marker bits, the
// PCR extension, continuity counters and payload stay as they are. A PES header
// must lie whole in its packet's payload to be rewritten (muxers put it there); one
// that does not is left as it is and counted. OPCR is left alone (it carries the
// original clock by definition). Stateless but for the offset and the counters.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hlscache::ts {

class TimestampRewriter {
 public:
  // 90 kHz ticks added to every PTS, DTS and PCR base (any value; applied mod 2^33).
  void set_offset(std::uint64_t ticks) noexcept { offset_ = ticks; }
  std::uint64_t offset() const noexcept { return offset_; }

  // Rewrites the whole 188-byte packets of data[0, n); a packet without the sync
  // byte, and null packets, are skipped. A no-op while the offset is 0 mod 2^33.
  void rewrite(std::uint8_t* data, std::size_t n) noexcept;

  std::uint64_t headers_rewritten() const noexcept { return headers_; }
  std::uint64_t pcrs_rewritten() const noexcept { return pcrs_; }
  std::uint64_t headers_split() const noexcept { return split_; }  // left alone: not whole in one packet

 private:
  void rewrite_packet(std::uint8_t* p) noexcept;

  std::uint64_t offset_ = 0;
  std::uint64_t headers_ = 0;
  std::uint64_t pcrs_ = 0;
  std::uint64_t split_ = 0;
};

// The PCR of a packet's adaptation field: base (33 bits, 90 kHz) * 300 + extension
// (27 MHz units, 42 bits in all), if the packet carries one.
bool read_pcr(const std::uint8_t* p, std::uint64_t& pcr) noexcept;

}  // namespace hlscache::ts
