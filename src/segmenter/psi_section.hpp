// PSI sections (ISO/IEC 13818-1 §2.4.4): the MPEG-2 CRC32 and a SectionAssembler
// that rebuilds sections from TS packet payloads. A section may span packets and a
// packet may hold the end of one section and the start of others (pointer_field);
// 0xFF bytes after a section are stuffing. Bound: one section of at most
// kMaxSectionSize bytes (PAT/PMT limit); a longer one is counted and dropped.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>

namespace hlscache::ts {

// CRC-32/MPEG-2: polynomial 0x04C11DB7, init 0xFFFFFFFF, no reflection, no final xor.
// Over a whole section including its CRC field the result is 0.
std::uint32_t crc32_mpeg2(const std::uint8_t* data, std::size_t n) noexcept;

class SectionAssembler {
 public:
  static constexpr std::size_t kMaxSectionSize = 1024;  // 3-byte header + section_length <= 1021
  using OnSection = std::function<void(const std::uint8_t* section, std::size_t size)>;

  // Feeds one packet's payload (`pusi` = payload_unit_start_indicator).
  // Calls `on_section` for each complete section (CRC not yet checked).
  void feed(const std::uint8_t* payload, std::size_t n, bool pusi, const OnSection& on_section);

  // Drops a partially assembled section (after a continuity error).
  void reset() noexcept { active_ = false; }

  std::uint64_t errors() const noexcept { return errors_; }  // oversize, truncated or malformed

 private:
  void consume(const std::uint8_t* d, std::size_t n, const OnSection& on_section);

  std::array<std::uint8_t, kMaxSectionSize> buf_{};
  std::size_t len_ = 0;
  std::size_t total_ = 0;
  bool active_ = false;
  std::uint64_t errors_ = 0;
};

}  // namespace hlscache::ts
