// BitReader: MSB-first reads of fixed-width fields and Exp-Golomb codes (ue(v),
// se(v), H.264/H.265 §9.2) over an RBSP. Reading past the end sets a sticky
// error flag instead of throwing; callers check ok() once after a run of reads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace hlscache::ts {

class BitReader {
 public:
  explicit BitReader(std::span<const std::uint8_t> bytes) noexcept : data_(bytes) {}

  std::uint32_t bits(unsigned n) noexcept {  // n <= 32
    std::uint32_t v = 0;
    for (unsigned i = 0; i < n; ++i) v = (v << 1) | bit();
    return v;
  }
  std::uint32_t bit() noexcept {
    if (pos_ >= data_.size() * 8) {
      ok_ = false;
      return 0;
    }
    const std::uint32_t v = (data_[pos_ >> 3] >> (7 - (pos_ & 7))) & 1u;
    ++pos_;
    return v;
  }
  void skip(std::size_t n) noexcept {
    pos_ += n;
    if (pos_ > data_.size() * 8) ok_ = false;
  }
  std::uint32_t ue() noexcept {
    unsigned leading = 0;
    while (bit() == 0) {
      if (!ok_ || ++leading > 31) {
        ok_ = false;
        return 0;
      }
    }
    if (leading == 0) return 0;
    return static_cast<std::uint32_t>((std::uint64_t{1} << leading) - 1 + bits(leading));
  }
  std::int32_t se() noexcept {
    const std::uint32_t k = ue();
    return (k & 1) != 0 ? static_cast<std::int32_t>((k + 1) / 2) : -static_cast<std::int32_t>(k / 2);
  }
  bool ok() const noexcept { return ok_; }

 private:
  std::span<const std::uint8_t> data_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

// NAL unit payload -> RBSP: drops each emulation_prevention_three_byte (00 00 03 -> 00 00).
inline std::vector<std::uint8_t> nal_to_rbsp(std::span<const std::uint8_t> nal) {
  std::vector<std::uint8_t> out;
  out.reserve(nal.size());
  unsigned zeros = 0;
  for (const std::uint8_t b : nal) {
    if (zeros >= 2 && b == 0x03) {
      zeros = 0;
      continue;
    }
    zeros = b == 0 ? zeros + 1 : 0;
    out.push_back(b);
  }
  return out;
}

}  // namespace hlscache::ts
