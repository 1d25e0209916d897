// One 188-byte MPEG-TS packet (ISO/IEC 13818-1 §2.4.3.2): header fields, the
// adaptation field flags the segmenter needs (discontinuity, random access,
// PCR) and where the payload starts. Inline: this runs once per packet.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hlscache::ts {

inline constexpr std::size_t kPacketSize = 188;
inline constexpr std::uint8_t kSyncByte = 0x47;
inline constexpr std::uint16_t kPatPid = 0x0000;
inline constexpr std::uint16_t kNullPid = 0x1FFF;
inline constexpr std::size_t kPidCount = 8192;

inline std::uint16_t packet_pid(const std::uint8_t* p) noexcept {
  return static_cast<std::uint16_t>(((p[1] & 0x1F) << 8) | p[2]);
}

struct PacketInfo {
  std::uint16_t pid = 0;
  bool transport_error = false;
  bool payload_unit_start = false;
  bool has_adaptation = false;
  bool has_payload = false;
  std::uint8_t continuity_counter = 0;
  // Adaptation field (all false / 0 when absent or empty).
  bool discontinuity = false;
  bool random_access = false;
  bool has_pcr = false;
  std::uint64_t pcr_base = 0;      // 33 bits, 90 kHz
  std::uint16_t pcr_extension = 0;  // 9 bits, 27 MHz remainder
  std::uint8_t payload_offset = kPacketSize;  // first payload byte; kPacketSize when none
  bool valid = true;  // false: reserved adaptation_field_control or a bad adaptation length
};

// Parses the header and adaptation field of the packet at `p` (p[0] is the sync byte).
inline PacketInfo parse_packet(const std::uint8_t* p) noexcept {
  PacketInfo info;
  info.pid = packet_pid(p);
  info.transport_error = (p[1] & 0x80) != 0;
  info.payload_unit_start = (p[1] & 0x40) != 0;
  const unsigned afc = (p[3] >> 4) & 0x3;
  info.has_adaptation = (afc & 0x2) != 0;
  info.has_payload = (afc & 0x1) != 0;
  info.continuity_counter = p[3] & 0x0F;
  if (afc == 0) {
    info.valid = false;
    return info;
  }
  std::size_t offset = 4;
  if (info.has_adaptation) {
    const std::size_t len = p[4];
    // With a payload the field leaves room for at least one payload byte; alone it fills the packet.
    if ((info.has_payload && len > 182) || (!info.has_payload && len != 183)) {
      info.valid = false;
      return info;
    }
    if (len > 0) {
      const std::uint8_t flags = p[5];
      info.discontinuity = (flags & 0x80) != 0;
      info.random_access = (flags & 0x40) != 0;
      if ((flags & 0x10) != 0 && len >= 7) {
        info.has_pcr = true;
        info.pcr_base = (std::uint64_t{p[6]} << 25) | (std::uint64_t{p[7]} << 17) |
                        (std::uint64_t{p[8]} << 9) | (std::uint64_t{p[9]} << 1) | (p[10] >> 7);
        info.pcr_extension = static_cast<std::uint16_t>(((p[10] & 0x01) << 8) | p[11]);
      }
    }
    offset = 5 + len;
  }
  info.payload_offset = static_cast<std::uint8_t>(info.has_payload ? offset : kPacketSize);
  return info;
}

}  // namespace hlscache::ts
