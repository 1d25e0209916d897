#include "segmenter/fmp4_boxes.hpp"

#include <cassert>

namespace hlscache::fmp4 {

void BoxWriter::fourcc(std::string_view code) {
  assert(code.size() == 4);
  out_.append(code.data(), 4);
}

std::size_t BoxWriter::open(std::string_view type) {
  const std::size_t at = reserve_u32();
  fourcc(type);
  return at;
}

// Boxes stay far below 4 GiB (one part's samples), so the 32-bit size always fits.
void BoxWriter::close(std::size_t at) { patch_u32(at, static_cast<std::uint32_t>(out_.size() - at)); }

void BoxWriter::patch_u32(std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out_[at + static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * (3 - i))) & 0xFF);
}

}  // namespace hlscache::fmp4
