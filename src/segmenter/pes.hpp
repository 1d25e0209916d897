// PES packet header (ISO/IEC 13818-1 §2.4.3.6): stream_id, PES_packet_length,
// PTS and DTS (33-bit, 90 kHz) and where the elementary-stream bytes begin.
// PesHeaderAssembler gathers a header that does not fit in the first packet's
// payload (rare: a large adaptation field); bound: 9 + 255 bytes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace hlscache::ts {

struct PesHeader {
  std::uint8_t stream_id = 0;
  std::uint16_t packet_length = 0;  // 0: unbounded (video)
  bool has_pts = false;
  bool has_dts = false;
  std::uint64_t pts = 0;
  std::uint64_t dts = 0;            // equals pts when the header carries no DTS
  std::size_t header_size = 0;      // bytes before the elementary stream data
};

enum class PesParse : std::uint8_t { ok, need_more, invalid };

// False for the stream_ids whose PES packets have no optional header, so no PTS/DTS
// (program_stream_map, padding, private_stream_2, ECM, EMM, DSM-CC, H.222.1 type E,
// directory: Table 2-21 of 13818-1).
bool pes_has_optional_header(std::uint8_t stream_id) noexcept;

// Parses the PES header at d[0, n). need_more: the header continues in the next packet.
PesParse parse_pes_header(const std::uint8_t* d, std::size_t n, PesHeader& out) noexcept;

// Decodes the 5-byte PTS/DTS field.
std::uint64_t read_timestamp(const std::uint8_t* p) noexcept;
// Encodes `ts` (33 bits) into the 5-byte field at p, keeping its 4-bit prefix
// ('0010', '0011' or '0001') and setting the three marker bits.
void write_timestamp(std::uint8_t* p, std::uint64_t ts) noexcept;

class PesHeaderAssembler {
 public:
  static constexpr std::size_t kMaxHeader = 9 + 255;

  void start() noexcept { len_ = 0; }
  // Appends ES bytes; returns ok/invalid once the header is complete, need_more before.
  // On ok, `consumed` is how many of these bytes belonged to the header.
  PesParse feed(const std::uint8_t* d, std::size_t n, PesHeader& out, std::size_t& consumed) noexcept;

 private:
  std::array<std::uint8_t, kMaxHeader> buf_{};
  std::size_t len_ = 0;
};

}  // namespace hlscache::ts
