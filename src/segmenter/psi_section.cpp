#include "segmenter/psi_section.hpp"

#include <algorithm>
#include <cstring>

namespace hlscache::ts {
namespace {

constexpr std::array<std::uint32_t, 256> make_crc_table() {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i << 24;
    for (int k = 0; k < 8; ++k) c = (c & 0x80000000u) != 0 ? (c << 1) ^ 0x04C11DB7u : c << 1;
    t[i] = c;
  }
  return t;
}

constexpr auto kCrcTable = make_crc_table();

}  // namespace

std::uint32_t crc32_mpeg2(const std::uint8_t* data, std::size_t n) noexcept {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < n; ++i) crc = (crc << 8) ^ kCrcTable[((crc >> 24) ^ data[i]) & 0xFF];
  return crc;
}

void SectionAssembler::feed(const std::uint8_t* payload, std::size_t n, bool pusi, const OnSection& on_section) {
  if (n == 0) return;
  if (!pusi) {
    if (active_) consume(payload, n, on_section);
    return;
  }
  const std::size_t pointer = payload[0];
  if (pointer + 1 > n) {  // pointer_field points past the packet
    ++errors_;
    active_ = false;
    return;
  }
  if (active_) {
    consume(payload + 1, pointer, on_section);
    if (active_) {  // the previous section did not end where the pointer says
      ++errors_;
      active_ = false;
    }
  }
  consume(payload + 1 + pointer, n - 1 - pointer, on_section);
}

void SectionAssembler::consume(const std::uint8_t* d, std::size_t n, const OnSection& on_section) {
  while (n > 0) {
    if (!active_) {
      if (d[0] == 0xFF) return;  // stuffing fills the rest of the packet
      active_ = true;
      len_ = 0;
      total_ = 0;
    }
    const std::size_t want = len_ < 3 ? 3 : total_;
    const std::size_t take = std::min(n, want - len_);
    std::memcpy(buf_.data() + len_, d, take);
    len_ += take;
    d += take;
    n -= take;
    if (len_ == 3 && total_ == 0) {
      total_ = 3 + (((buf_[1] & 0x0Fu) << 8) | buf_[2]);
      if (total_ > kMaxSectionSize) {
        ++errors_;
        active_ = false;
        return;  // cannot find the next section start without the length: skip the packet
      }
    }
    if (len_ >= 3 && len_ == total_) {
      active_ = false;
      on_section(buf_.data(), total_);
    }
  }
}

}  // namespace hlscache::ts
