#include "segmenter/pes.hpp"

#include <algorithm>
#include <cstring>

namespace hlscache::ts {

bool pes_has_optional_header(std::uint8_t id) noexcept {
  switch (id) {
    case 0xBC: case 0xBE: case 0xBF: case 0xF0: case 0xF1: case 0xF2: case 0xF8: case 0xFF:
      return false;
    default:
      return true;
  }
}

std::uint64_t read_timestamp(const std::uint8_t* p) noexcept {
  return (std::uint64_t{static_cast<std::uint8_t>((p[0] >> 1) & 0x07)} << 30) | (std::uint64_t{p[1]} << 22) |
         (std::uint64_t{static_cast<std::uint8_t>(p[2] >> 1)} << 15) | (std::uint64_t{p[3]} << 7) |
         (p[4] >> 1);
}

void write_timestamp(std::uint8_t* p, std::uint64_t ts) noexcept {
  p[0] = static_cast<std::uint8_t>((p[0] & 0xF0) | ((ts >> 29) & 0x0E) | 0x01);
  p[1] = static_cast<std::uint8_t>(ts >> 22);
  p[2] = static_cast<std::uint8_t>(((ts >> 14) & 0xFE) | 0x01);
  p[3] = static_cast<std::uint8_t>(ts >> 7);
  p[4] = static_cast<std::uint8_t>(((ts << 1) & 0xFE) | 0x01);
}

PesParse parse_pes_header(const std::uint8_t* d, std::size_t n, PesHeader& out) noexcept {
  const std::size_t check = std::min<std::size_t>(n, 3);
  static constexpr std::uint8_t kPrefix[3] = {0x00, 0x00, 0x01};
  if (std::memcmp(d, kPrefix, check) != 0) return PesParse::invalid;
  if (n < 6) return PesParse::need_more;
  out = PesHeader{};
  out.stream_id = d[3];
  out.packet_length = static_cast<std::uint16_t>((d[4] << 8) | d[5]);
  if (!pes_has_optional_header(out.stream_id)) {
    out.header_size = 6;
    return PesParse::ok;
  }
  if (n < 9) return PesParse::need_more;
  if ((d[6] & 0xC0) != 0x80) return PesParse::invalid;  // '10' marker bits
  const unsigned pts_dts_flags = d[7] >> 6;
  const std::size_t header_data_length = d[8];
  out.header_size = 9 + header_data_length;
  if (pts_dts_flags == 1) return PesParse::invalid;  // forbidden value
  const std::size_t needed = pts_dts_flags == 3 ? 10 : pts_dts_flags == 2 ? 5 : 0;
  if (header_data_length < needed) return PesParse::invalid;
  if (n < out.header_size) return PesParse::need_more;
  if (pts_dts_flags >= 2) {
    out.has_pts = true;
    out.pts = read_timestamp(d + 9);
    out.dts = out.pts;
  }
  if (pts_dts_flags == 3) {
    out.has_dts = true;
    out.dts = read_timestamp(d + 14);
  }
  return PesParse::ok;
}

PesParse PesHeaderAssembler::feed(const std::uint8_t* d, std::size_t n, PesHeader& out,
                                  std::size_t& consumed) noexcept {
  const std::size_t before = len_;
  const std::size_t take = std::min(n, kMaxHeader - len_);
  std::memcpy(buf_.data() + len_, d, take);
  len_ += take;
  const PesParse r = parse_pes_header(buf_.data(), len_, out);
  if (r == PesParse::need_more && len_ == kMaxHeader) return PesParse::invalid;
  consumed = r == PesParse::ok ? out.header_size - before : 0;
  return r;
}

}  // namespace hlscache::ts
